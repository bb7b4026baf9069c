/** The CLI's version: cli/package.json's, put in by the build (esbuild `define`). */
declare const CLI_VERSION: string;
export const VERSION: string = CLI_VERSION;
