/**
 * @module The live ring picture: every node the page knows on a circle at the angle of its DID
 * (0 at the top, clockwise, as Chord counts), this node highlighted, successor and predecessor
 * marked, fingers as dashed chords, open links as solid lines, a message's hops as a moving dot.
 * Each node's mark is a `<g class="node" data-did="0x…">`.
 */
const NS = "http://www.w3.org/2000/svg";
const SIZE = 360, C = SIZE / 2, R = 120; // 36 px around the circle for the labels

const el = (name, attrs = {}, parent) => {
  const node = document.createElementNS(NS, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  parent?.append(node);
  return node;
};

/** Where `did` sits on the circle (radius `r`): its top 32 bits as a fraction of the turn. */
export function pointOf(did, r = R) {
  const turn = Number(BigInt(did) >> 128n) / 2 ** 32;
  return [C + r * Math.sin(2 * Math.PI * turn), C - r * Math.cos(2 * Math.PI * turn)];
}

export class RingPicture {
  constructor(svg, self) {
    this.svg = svg;
    this.self = self;
    svg.setAttribute("viewBox", `0 0 ${SIZE} ${SIZE}`);
    el("circle", { cx: C, cy: C, r: R, class: "orbit" }, svg);
    this.chords = el("g", {}, svg);
    this.marks = el("g", {}, svg);
    this.hops = el("g", {}, svg);
  }

  /** Redraw from the page's view: `nodes` (DIDs), `links` (linked DIDs), `successor`, `predecessor`, `fingers`. */
  draw({ nodes, links, successor, predecessor, fingers }) {
    this.chords.replaceChildren();
    this.marks.replaceChildren();
    const [sx, sy] = pointOf(this.self);
    for (const did of fingers) {
      const [x, y] = pointOf(did);
      el("line", { x1: sx, y1: sy, x2: x, y2: y, class: "finger" }, this.chords);
    }
    for (const did of links) {
      const [x, y] = pointOf(did);
      el("line", { x1: sx, y1: sy, x2: x, y2: y, class: "link", "data-link": did }, this.chords);
    }
    for (const did of [...nodes].sort()) {
      const role = did === this.self ? "self" : did === successor ? "successor" : did === predecessor ? "predecessor" : "";
      const g = el("g", { class: `node ${role}`, "data-did": did }, this.marks);
      const [x, y] = pointOf(did);
      el("circle", { cx: x, cy: y, r: did === this.self ? 9 : 6 }, g);
      const [lx, ly] = pointOf(did, R + 24);
      const label = el("text", { x: lx, y: ly + 4, "text-anchor": lx < C - 10 ? "end" : lx > C + 10 ? "start" : "middle" }, g);
      label.textContent = did.slice(0, 6); // the role shows in the colour (the legend)
      el("title", {}, g).textContent = did;
    }
  }

  /** A link that just closed: a red line that fades out. */
  closed(did) {
    const [sx, sy] = pointOf(this.self), [x, y] = pointOf(did);
    const line = el("line", { x1: sx, y1: sy, x2: x, y2: y, class: "closed" }, this.hops);
    setTimeout(() => line.remove(), 2500);
  }

  /** A message travelling along `path` (DIDs, origin first): a dot moving hop by hop. */
  travel(path, outgoing = false) {
    const points = path.map((did) => pointOf(did));
    if (points.length < 2) return;
    const dot = el("circle", { r: 5, class: outgoing ? "hop out" : "hop" }, this.hops);
    el("animateMotion", { dur: `${0.6 * (points.length - 1)}s`, fill: "freeze",
      path: "M" + points.map(([x, y]) => `${x.toFixed(1)} ${y.toFixed(1)}`).join(" L") }, dot);
    setTimeout(() => dot.remove(), 600 * (points.length - 1) + 400);
  }
}
