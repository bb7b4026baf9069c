/** The bundled CLI (built by the test setup). Its own module: importing it creates nothing, unlike run-cli's bin dir. */
export const BIN = new URL("../../cli/dist/async-agent.js", import.meta.url).pathname;
