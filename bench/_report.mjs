// bench/_report.py's speed() for the JS benches: the same SPEED line, the same row in the file
// RINGS_WEB_SPEED_ROWS names (bench/speeds.py gathers them).
import fs from "node:fs";

const num = (x) => (Math.abs(x) < 100 ? Number(x.toPrecision(3)).toString() : Math.round(x).toLocaleString("en").replaceAll(",", " "));

/** Print one figure with its reference and ratio; return it as a row. */
export function speed(figure, ours, unit, reference, ref, target, met) {
  const row = { figure, ours, unit, reference, ref, ratio: ref ? ours / ref : NaN, target, met };
  console.log(`SPEED | ${figure} | ${num(ours)} ${unit} | ${reference}: ${num(ref)} ${unit} | ` +
    `ratio ${row.ratio.toFixed(2)} | target ${target} | ${met ? "met" : "MISSED"}`);
  if (process.env.RINGS_WEB_SPEED_ROWS) fs.appendFileSync(process.env.RINGS_WEB_SPEED_ROWS, JSON.stringify(row) + "\n");
  return row;
}
