import type { Eip1193Provider } from "./index.js";

/** An EIP-1193 provider that signs with a known key (tests and demos only). */
export interface TestWallet extends Eip1193Provider {
  readonly address: string;
  /** How many `method` requests the provider got (refused ones included). */
  count(method: string): number;
  /** The next `method` request fails with EIP-1193 `code` (default 4001: the user rejected it). */
  rejectNext(method: string, code?: number): void;
  /** Switch accounts as a user would; emits `accountsChanged`. */
  switchAccount(privateKey: string): void;
  /** Lock as MetaMask does: `eth_accounts` gives [], `eth_requestAccounts` and `personal_sign`
   * fail with code 4100; emits `accountsChanged` with []. */
  lock(): void;
  /** Unlock; emits `accountsChanged` with the account. */
  unlock(): void;
  /** Switch chains; emits `chainChanged` with the id in hex. */
  switchChain(chainId: number): void;
  /** Fire an EIP-1193 event to the provider's listeners. */
  emit(event: string, value: unknown): void;
  removeListener(event: string, listener: (...args: any[]) => void): this;
}

export declare function testWallet(privateKey: string, options?: { chainId?: number }): TestWallet;
export declare function addressOf(privateKey: string): string;
