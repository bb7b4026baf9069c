import { defineConfig } from "drizzle-kit";

// drizzle-kit writes plain SQL migrations into migrations/, the same folder wrangler applies
// (`migrations_dir` in wrangler.toml), so `npm run db:generate` then `npm run db:migrate:local`.
export default defineConfig({
  dialect: "sqlite",
  schema: "./worker/db/schema.ts",
  out: "./migrations",
});
