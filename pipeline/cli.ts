/**
 * The command line: `deno task run [options] <pipeline.yaml>` runs a pipeline file.
 *
 * Exit codes: 0 ok, 1 compare mismatch or check errors, 2 pipeline file or usage error,
 * 3 unsupported op or other runtime error. A failure ends with one line on stderr saying why.
 * With `--json`, stdout carries only the JSON report.
 *
 * @module
 */

import { getPass, passNames } from "./optimize/mod.ts";
import { failedReport, runPipelineFile } from "./runner.ts";
import { reportToJson } from "./stages/report.ts";

/** Usage text. */
export const USAGE = `Usage: deno task run [options] <pipeline.yaml>

Runs the stages a pipeline file names (load, check, optimize, run, compare, report).
The file format is described in examples/README.md.

Options:
  --json           print a machine-readable JSON report on stdout (and nothing else)
  --model <path>   use this model (path or URL) instead of the file's "model"
  --set name=value replace a variable of the file's "vars" (repeatable)
  --validate       load the model and read every input, but run no stage after load
  -q, --quiet      show no progress on stderr
  --list-passes    list the optimization passes and exit
  --debug          print the stack trace of an unexpected error
  -h, --help       show this help

Exit codes: 0 ok, 1 compare mismatch or check errors, 2 pipeline file or usage error,
3 unsupported op or other runtime error.`;

/** Where the CLI writes. */
export interface CliIo {
  /** Writes a line to stdout. */
  stdout: (line: string) => void;
  /** Writes text to stderr. */
  stderr: (text: string) => void;
  /** Whether stderr is a terminal. */
  tty?: boolean;
}

interface Args {
  file?: string;
  json: boolean;
  quiet: boolean;
  validate: boolean;
  debug: boolean;
  help: boolean;
  listPasses: boolean;
  model?: string;
  vars: Record<string, string>;
}

function parseArgs(args: readonly string[]): Args | string {
  const out: Args = {
    json: false,
    quiet: false,
    validate: false,
    debug: false,
    help: false,
    listPasses: false,
    vars: {},
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--json") out.json = true;
    else if (a === "-q" || a === "--quiet") out.quiet = true;
    else if (a === "--validate") out.validate = true;
    else if (a === "--debug") out.debug = true;
    else if (a === "-h" || a === "--help") out.help = true;
    else if (a === "--list-passes") out.listPasses = true;
    else if (a === "--model" || a.startsWith("--model=")) {
      const v = a === "--model" ? args[++i] : a.slice("--model=".length);
      if (v === undefined || v === "") return "--model needs a path or URL";
      out.model = v;
    } else if (a === "--set" || a.startsWith("--set=")) {
      const v = a === "--set" ? args[++i] : a.slice("--set=".length);
      const eq = v?.indexOf("=") ?? -1;
      if (v === undefined || eq <= 0) return `--set needs name=value, got ${v ?? "nothing"}`;
      out.vars[v.slice(0, eq)] = v.slice(eq + 1);
    } else if (a.startsWith("-") && a !== "-") return `Unknown option "${a}"`;
    else if (out.file !== undefined) return `Give one pipeline file, got "${out.file}" and "${a}"`;
    else out.file = a;
  }
  return out;
}

/**
 * Runs the CLI with `args` and returns the exit code (the caller exits). Never throws for
 * problems of the pipeline, the model or the inputs.
 */
export async function main(args: readonly string[], io?: CliIo): Promise<number> {
  const encoder = new TextEncoder();
  const stdout = io?.stdout ?? ((l: string) => console.log(l));
  const stderr = io?.stderr ?? ((t: string) => void Deno.stderr.writeSync(encoder.encode(t)));
  const parsed = parseArgs(args);
  if (typeof parsed === "string") {
    stderr(`error: ${parsed}\n\n${USAGE}\n`);
    return 2;
  }
  if (parsed.help) {
    stdout(USAGE);
    return 0;
  }
  if (parsed.listPasses) {
    const width = Math.max(...passNames().map((n) => n.length)) + 1;
    for (const name of passNames()) {
      const p = getPass(name)!;
      stdout(`${name.padEnd(width)} ${p.level.padEnd(9)} ${p.description}`);
    }
    return 0;
  }
  if (parsed.file === undefined) {
    stderr(`error: no pipeline file given\n\n${USAGE}\n`);
    return 2;
  }
  let report;
  try {
    report = await runPipelineFile(parsed.file, {
      json: parsed.json,
      quiet: parsed.quiet,
      model: parsed.model,
      vars: parsed.vars,
      stdout,
      stderr,
      tty: io?.tty,
      validateOnly: parsed.validate,
      onError: (e) => {
        if (parsed.debug && e instanceof Error && e.stack) stderr(`${e.stack}\n`);
      },
    });
  } catch (e) {
    // Only bugs get here; report them like runtime errors.
    if (parsed.debug && e instanceof Error && e.stack) stderr(`${e.stack}\n`);
    report = failedReport(parsed.file, e);
  }
  if (parsed.json) stdout(reportToJson(report));
  if (report.error) {
    stderr(`error: ${report.error.type}: ${report.error.message}\n`);
  } else if (report.exitCode !== 0) {
    const failed = report.stages.filter((s) => s.status === "failed");
    stderr(
      `error: ${failed.map((s) => `${s.stage} failed (${s.summary})`).join("; ")}\n`,
    );
  }
  return report.exitCode;
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
