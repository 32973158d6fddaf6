/**
 * deno task schema — writes mlops.config.schema.json from the same schema the
 * code validates with (lib/config.ts). A test fails when the committed file
 * is stale.
 *
 * Example:
 *   deno task schema
 */
import { defineTask } from "../lib/cli.ts";

export const task = defineTask({
  name: "schema",
  summary: "Regenerate mlops.config.schema.json from lib/config.ts.",
  usage: "deno task schema",
  options: {},
  usesConfig: false,
  examples: ["deno task schema"],
  async run() {
    // Loaded here, not at the top: `--help` needs no schema library.
    const { schemaText } = await import("../lib/config.ts");
    await Deno.writeTextFile("mlops.config.schema.json", schemaText());
    console.error("Wrote mlops.config.schema.json");
  },
});

if (import.meta.main) await task.main(Deno.args);
