import type { Command } from "commander";
import { usage } from "../errors.ts";
import type { Wrap } from "../main.ts";

/** Every command path ("" = top level, "authz add") with the words that may follow it. */
export function completionTable(program: Command): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const walk = (cmd: Command, path: string) => {
    const words = [...cmd.commands.map((c) => c.name()), ...cmd.options.flatMap((o) => [o.long, o.short].filter((x): x is string => !!x)), "--help"];
    if (path === "") words.push(...program.options.map((o) => o.long!).filter(Boolean));
    out.set(path, [...new Set(words)]);
    for (const c of cmd.commands) walk(c, path ? `${path} ${c.name()}` : c.name());
  };
  walk(program, "");
  // Global options are accepted after any command too.
  const globals = program.options.map((o) => o.long!).filter((l) => l !== "--version");
  for (const [k, v] of out) if (k) out.set(k, [...new Set([...v, ...globals])]);
  return out;
}

const quote = (s: string) => `'${s.replace(/'/g, "'\\''")}'`;

export function bashCompletion(table: Map<string, string[]>): string {
  const entries = [...table].map(([k, v]) => `  [${quote(k || "_")}]=${quote(v.join(" "))}`).join("\n");
  return `# skyferry completion for bash: eval "$(skyferry completion bash)" (e.g. in ~/.bashrc)
declare -gA _skyferry_words=(
${entries}
)
_skyferry() {
  local cur=\${COMP_WORDS[COMP_CWORD]} key="" w next
  for w in "\${COMP_WORDS[@]:1:COMP_CWORD-1}"; do
    next="\${key:+$key }$w"
    [[ -n \${_skyferry_words[$next]+x} ]] && key=$next
  done
  COMPREPLY=( $(compgen -W "\${_skyferry_words[\${key:-_}]}" -- "$cur") )
}
complete -o default -F _skyferry skyferry
`;
}

export function zshCompletion(table: Map<string, string[]>): string {
  const entries = [...table].map(([k, v]) => `  ${quote(k || "_")} ${quote(v.join(" "))}`).join("\n");
  return `#compdef skyferry
# skyferry completion for zsh: eval "$(skyferry completion zsh)" (e.g. in ~/.zshrc, after compinit)
typeset -gA _skyferry_words
_skyferry_words=(
${entries}
)
_skyferry() {
  local key="" w next
  for w in \${words[2,CURRENT-1]}; do
    next="\${key:+$key }$w"
    (( \${+_skyferry_words[$next]} )) && key=$next
  done
  local -a choices
  choices=(\${=_skyferry_words[\${key:-_}]})
  compadd -- \${choices[@]}
  _files
}
compdef _skyferry skyferry
`;
}

export function registerCompletion(program: Command, wrap: Wrap): void {
  program
    .command("completion <shell>")
    .description("Print the shell completion script: bash or zsh")
    .action(
      wrap(async (ctx, shell: string) => {
        if (shell !== "bash" && shell !== "zsh") throw usage(`completion for "${shell}": only bash and zsh`);
        const t = completionTable(program);
        ctx.io.stdout.write(shell === "bash" ? bashCompletion(t) : zshCompletion(t));
      }),
    );
}
