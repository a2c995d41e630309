import type { Browser, BrowserContext, Page } from "playwright-core";

export declare const CHROMIUM_FLAGS: string[];
/** Deterministic public test key number `i`. */
export declare function testKey(i: number): string;

export interface TestNode {
  page: Page;
  context: BrowserContext;
  key: string;
  address: string;
  /** Page load → node ready, in ms. */
  bootMs: number;
  /** `node[method](...args)` in the page; bytes travel as `{$bytes: hex}`. Rejects with PageError. */
  call(method: string, ...args: unknown[]): Promise<any>;
  /** Recorded events (`message`, `peer:connect`, …), optionally of one name. */
  events(name?: string): Promise<{ name: string; detail: any }[]>;
  close(): Promise<void>;
}

export interface Testnet {
  nodes: TestNode[];
  /** Page errors, console errors and unhandled rejections seen so far. */
  errors: string[];
  browser: Browser;
  server: { url: string; pageURL(query: Record<string, string>): string; close(): Promise<void> };
  open(key: string, query?: Record<string, string>): Promise<TestNode>;
  /** Manual handshake a → b; resolves when both list the link. */
  link(a: TestNode, b: TestNode, timeout?: number): Promise<void>;
  close(): Promise<void>;
}

export declare class PageError extends Error {}
/** A page in a new context with `boot(page)` run on it; a renderer crash meanwhile gets one more try. */
export declare function newBootedPage(browser: Browser, contextOptions: Parameters<Browser["newContext"]>[0],
  boot: (page: Page) => Promise<void>): Promise<{ context: BrowserContext; page: Page }>;
export declare function testnet(n: number, options?: {
  keys?: string[]; stabilizeInterval?: number; executablePath?: string; bootTimeout?: number;
}): Promise<Testnet>;
export declare function serveTestnet(): Promise<Testnet["server"]>;
export declare function until<T>(predicate: () => Promise<T> | T, timeout?: number, what?: string): Promise<T>;
export declare function serveFiles(routes: Record<string, string>, pages?: Record<string, string>, port?: number):
  Promise<{ url: string; close(): Promise<void> }>;
