// Runs a Python script in the official MicroPython WebAssembly port, under Node.
//
//   node run.mjs [--heap BYTES] [--async] [--mount HOST_DIR:MP_DIR ...] SCRIPT.py [ARGS ...]
//
// --async runs the script with runPythonAsync, so it may `await` at top level: asyncio tasks
// then run on Node's event loop (the port has no asyncio.run), as the firmware's main loop does.
// --heap is the port's first heap area; the pyscript build adds areas on demand, so it is not
// a limit (the main-loop harness imposes the board's budget itself).
//
// Each --mount copies the .py and .json files below HOST_DIR into MicroPython's in-memory
// file system at MP_DIR and puts MP_DIR on sys.path, so the script imports the project's
// modules exactly as the board would.  ARGS are visible to the script as sys.argv[1:].
// The script's stdout is passed through; an uncaught Python exception prints its traceback
// on stderr and exits with status 1.
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const here = path.dirname(new URL(import.meta.url).pathname);
const mpPath = require.resolve("@micropython/micropython-webassembly-pyscript/micropython.mjs", {
  paths: [here, process.cwd()],
});
const { loadMicroPython } = await import(mpPath);

let heap = 4 * 1024 * 1024;
let runAsync = false;
const mounts = [];
const args = process.argv.slice(2);
while (args.length && args[0].startsWith("--")) {
  const opt = args.shift();
  if (opt === "--heap") heap = parseInt(args.shift(), 10);
  else if (opt === "--mount") mounts.push(args.shift());
  else if (opt === "--async") runAsync = true;
  else {
    console.error(`run.mjs: unknown option ${opt}`);
    process.exit(2);
  }
}
if (!args.length) {
  console.error("usage: node run.mjs [--heap BYTES] [--async] [--mount HOST_DIR:MP_DIR ...] SCRIPT.py [ARGS ...]");
  process.exit(2);
}
const script = args.shift();

// A JavaScript error (not a Python exception) would make Node quote the minified line of
// micropython.mjs where it was thrown, tens of kilobytes that can hide the message itself: print
// the error's own name, message and first frames instead, and exit with status 1.
function fatal(error) {
  const text = error && error.stack ? error.stack : String(error);
  process.stderr.write("run.mjs: " + text.split("\n").slice(0, 12).join("\n") + "\n");
  process.exit(1);
}
process.on("uncaughtException", fatal);
process.on("unhandledRejection", fatal);

const out = [];
const mp = await loadMicroPython({
  heapsize: heap,
  stdout: (line) => process.stdout.write(line + "\n"),
  stderr: (line) => process.stderr.write(line + "\n"),
});

function copyTree(hostDir, mpDir) {
  mp.FS.mkdirTree(mpDir);
  for (const entry of fs.readdirSync(hostDir, { withFileTypes: true })) {
    const src = path.join(hostDir, entry.name);
    const dst = mpDir + "/" + entry.name;
    if (entry.isDirectory()) {
      if (entry.name !== "__pycache__" && entry.name !== "node_modules") copyTree(src, dst);
    } else if (/\.(py|json|bin|csv)$/.test(entry.name)) {
      mp.FS.writeFile(dst, fs.readFileSync(src));
    }
  }
}

const paths = [];
for (const spec of mounts) {
  const i = spec.lastIndexOf(":");
  const [hostDir, mpDir] = [spec.slice(0, i), spec.slice(i + 1)];
  copyTree(hostDir, mpDir);
  paths.push(mpDir);
}
mp.FS.mkdirTree("/io");
mp.FS.chdir("/io");

const argv = [script, ...args];
const prelude =
  "import sys\n" +
  paths.map((p) => `sys.path.append(${JSON.stringify(p)})\n`).join("") +
  `sys.argv[:] = ${JSON.stringify(argv)}\n`;
try {
  mp.runPython(prelude);
  const code = fs.readFileSync(script, "utf8");
  if (runAsync) {
    await mp.runPythonAsync(code);
    // tasks the script started may still be scheduled (a firmware's loops run forever): the
    // script is done, so end once stdout is flushed
    await new Promise((resolve) => process.stdout.write("", resolve));
    process.exit(0);
  } else mp.runPython(code);
} catch (error) {
  if (error.name === "PythonError") {
    if (error.type === "SystemExit") {
      // SystemExit(), SystemExit(0), SystemExit(N), or SystemExit("message") (status 1, as CPython)
      const m = /SystemExit:?\s*(.*)/.exec(error.message.trim().split("\n").pop());
      const arg = m ? m[1].trim() : "";
      if (arg === "" || /^\d+$/.test(arg)) process.exit(arg ? parseInt(arg, 10) : 0);
      process.stderr.write(arg + "\n");
      process.exit(1);
    }
    process.stderr.write(error.message);
    process.exit(1);
  }
  fatal(error);
}
