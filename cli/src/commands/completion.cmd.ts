/** `async-agent completion bash|zsh`: a completion script generated from the command tree itself. */
import type { Command } from "commander";
import { examples } from "../context";
import { UsageError } from "../errors";
import { cliName } from "../invocation";

/** "goal create" → its words: subcommands and long options. */
function wordTable(root: Command): Record<string, string[]> {
  const table: Record<string, string[]> = {};
  const walk = (cmd: Command, path: string) => {
    const opts = [...cmd.options, ...(path ? [] : root.options)].map((o) => o.long).filter((l): l is string => !!l);
    table[path] = [...cmd.commands.map((c) => c.name()), ...opts, "--help"];
    for (const sub of cmd.commands) walk(sub, path ? `${path} ${sub.name()}` : sub.name());
  };
  walk(root, "");
  return table;
}

function bashScript(root: Command): string {
  const cases = Object.entries(wordTable(root))
    .map(([path, words]) => `    "${path}") words="${words.join(" ")}" ;;`)
    .join("\n");
  const name = cliName();
  // Completion attaches to the `async-agent` command: through npx there is none to attach to yet.
  const note =
    name === "async-agent"
      ? ""
      : "# async-agent is not on PATH here: this completes the `async-agent` command once it is\n# (e.g. `npm pack` in cli/, then `npm install -g` the tarball).\n";
  return `# async-agent bash completion: eval "$(${name} completion bash)"
${note}_async_agent() {
  local cur path="" w words
  cur="\${COMP_WORDS[COMP_CWORD]}"
  for w in "\${COMP_WORDS[@]:1:COMP_CWORD-1}"; do
    case "$w" in -*) ;; *) [ -z "$path" ] && path="$w" || path="$path $w" ;; esac
  done
  case "$path" in
${cases}
    *) words="" ;;
  esac
  COMPREPLY=( $(compgen -W "$words" -- "$cur") )
}
complete -o default -F _async_agent async-agent
`;
}

export function registerCompletion(program: Command): void {
  examples(program.command("completion").argument("<shell>", "bash or zsh").description("print a shell completion script"), [
    'eval "$(async-agent completion bash)"   # add to ~/.bashrc',
    'eval "$(async-agent completion zsh)"    # add to ~/.zshrc',
  ]).action((shell: string) => {
    if (shell !== "bash" && shell !== "zsh") throw new UsageError(`unsupported shell "${shell}": expected bash or zsh`);
    const script = bashScript(program);
    // zsh runs bash completion functions through bashcompinit.
    process.stdout.write(shell === "zsh" ? `autoload -U +X bashcompinit && bashcompinit\n${script}` : script);
  });
}
