// graphql-codegen config: one typed module for every saved playground operation.
//
//   cd clients/typescript && ../node_modules/.bin/graphql-codegen
//
// Paths are relative to this directory (run the command from here).
import type { CodegenConfig } from "@graphql-codegen/cli";

const config: CodegenConfig = {
  schema: "../../schema.graphql",
  documents: "../../playground/operations/*.graphql",
  generates: {
    "src/generated/graphql.ts": {
      plugins: ["typescript-operations", "typed-document-node"],
      config: {
        // Fail generation when a custom scalar has no mapping below, instead of typing it `any`.
        strictScalars: true,
        scalars: {
          // RFC 3339 in UTC with microseconds, e.g. "2026-01-31T12:00:00.000000Z".
          DateTime: "string",
          // String keys to string values; `{}` when empty.
          Metadata: "Record<string, string>",
          // Any JSON value (an event's `data`): narrow it before use.
          JSON: "unknown",
        },
        useTypeImports: true,
      },
    },
  },
};

export default config;
