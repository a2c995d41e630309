// Byte-compile for the browser, with Pyodide's own CPython (node_modules/pyodide, in Node): a cold
// page otherwise compiles every module it imports from source, in wasm (measured: Pyodide's start
// 6.1–7.3 s → 1.7–4.7 s with a compiled standard library, the machine loaded; scripts/build_pyodide_dist.py).
//   node scripts/pyodide_compile.mjs wheel IN.whl OUT.whl   the wheel + a <module>.pyc beside each module
//   node scripts/pyodide_compile.mjs stdlib OUT.zip         Pyodide's python_stdlib.zip as .pyc only
// js/boot.mjs imports from the wheel as a zip (zipimport, which reads a .pyc beside its .py, not
// __pycache__) at /lib/rings-web/<wheel>; installed by pip or micropip, the .py come first and
// the .pyc are not read. The .pyc are unchecked-hash (PEP 552): used without looking at the
// source. Same input → same bytes.
import fs from "node:fs";
import path from "node:path";
import { loadPyodide } from "pyodide";

const COMPILE = `
import base64, hashlib, importlib.util, io, sys, zipfile
from importlib._bootstrap_external import _code_to_hash_pyc

EPOCH = (2020, 1, 1, 0, 0, 0)  # the wheel's SOURCE_DATE_EPOCH


def pyc(source: bytes, filename: str) -> bytes:
    code = compile(source, filename, "exec", dont_inherit=True)
    return _code_to_hash_pyc(code, importlib.util.source_hash(source), checked=False)


def entry(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=EPOCH)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    return info


def compile_wheel(data, name: str) -> bytes:
    """The wheel with a <module>.pyc beside each <module>.py, listed in RECORD; code objects name
    their file as zipimport finds it in js/boot.mjs (/lib/rings-web/<wheel name>/<path>)."""
    src = zipfile.ZipFile(io.BytesIO(data.to_bytes()))
    record = next(n for n in src.namelist() if n.endswith(".dist-info/RECORD"))
    added = {}
    for path in src.namelist():
        if path.endswith(".py") and ".dist-info/" not in path:
            added[path + "c"] = pyc(src.read(path), f"/lib/rings-web/{name}/{path}")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            if info.filename == record:
                continue
            dst.writestr(info, src.read(info))
        lines = src.read(record).decode().splitlines()
        for path, blob in sorted(added.items()):
            dst.writestr(entry(path), blob)
            digest = base64.urlsafe_b64encode(hashlib.sha256(blob).digest()).rstrip(b"=").decode()
            lines.insert(len(lines) - 1, f"{path},sha256={digest},{len(blob)}")
        dst.writestr(src.getinfo(record), "\\n".join(lines) + "\\n")
    return out.getvalue()


def compile_stdlib() -> bytes:
    """The standard library zip with each .py replaced by its .pyc (tracebacks keep file and line)."""
    path = f"/lib/python{sys.version_info[0]}{sys.version_info[1]}.zip"
    src = zipfile.ZipFile(path)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename.endswith(".py"):
                dst.writestr(entry(info.filename + "c"), pyc(data, f"{path}/{info.filename}"))
            else:
                dst.writestr(entry(info.filename), data)
    return out.getvalue()
`;

const [what, ...paths] = process.argv.slice(2);
if (!["wheel", "stdlib"].includes(what) || paths.length !== (what === "wheel" ? 2 : 1)) {
  console.error("usage: pyodide_compile.mjs wheel IN.whl OUT.whl | stdlib OUT.zip");
  process.exit(2);
}
const pyodide = await loadPyodide();
pyodide.runPython(COMPILE);
let out;
if (what === "wheel") {
  out = pyodide.globals.get("compile_wheel")(new Uint8Array(fs.readFileSync(paths[0])), path.basename(paths[0]));
} else {
  out = pyodide.globals.get("compile_stdlib")();
}
fs.writeFileSync(paths.at(-1), out.toJs());
out.destroy();
