/**
 * cli/completion: shell completion scripts for bash, zsh and fish, generated from the commands'
 * declared options (so they never drift from what the parser accepts).
 */
import type { Command } from '../commands/context.js';

const TIER_VALUES = 'daily weekly monthly yearly auto';
const GLOBALS = ['--config', '-c', '--state', '--json', '--quiet', '-q', '--verbose', '-v', '--help'];
/** Options whose value is a folder or file path. */
const PATH_OPTIONS = ['--to', '--source', '--state', '--config', '-c'];

function flagsOf(c: Command): string[] {
  const out: string[] = [];
  for (const [long, o] of Object.entries(c.options ?? {})) {
    out.push(`--${long}`);
    if (o.short !== undefined) out.push(`-${o.short}`);
  }
  return out;
}

/** bashCompletion is a script for `source <(strata completion bash)`. */
export function bashCompletion(commands: readonly Command[]): string {
  const names = [...commands.map((c) => c.name), 'help', 'completion'].join(' ');
  const cases = commands.map((c) => `    ${c.name}) opts="${flagsOf(c).join(' ')}" ;;`).join('\n');
  return `# strata bash completion: source <(strata completion bash), or save it in
# /etc/bash_completion.d/strata
_strata() {
  local cur prev cmd opts i
  cur="\${COMP_WORDS[COMP_CWORD]}"
  prev="\${COMP_WORDS[COMP_CWORD-1]}"
  cmd=""
  for ((i = 1; i < COMP_CWORD; i++)); do
    case "\${COMP_WORDS[i]}" in
      -c|--config|--state) ((i++)) ;;
      -*) ;;
      *) cmd="\${COMP_WORDS[i]}"; break ;;
    esac
  done
  case "$prev" in
    -t|--tier) COMPREPLY=($(compgen -W "${TIER_VALUES}" -- "$cur")); return ;;
    ${PATH_OPTIONS.join('|')}) COMPREPLY=($(compgen -f -- "$cur")); return ;;
  esac
  if [[ -z "$cmd" ]]; then
    COMPREPLY=($(compgen -W "${names} ${GLOBALS.join(' ')}" -- "$cur"))
    return
  fi
  opts=""
  case "$cmd" in
${cases}
    help) COMPREPLY=($(compgen -W "${commands.map((c) => c.name).join(' ')}" -- "$cur")); return ;;
    completion) COMPREPLY=($(compgen -W "bash zsh fish" -- "$cur")); return ;;
    config) opts="check" ;;
  esac
  COMPREPLY=($(compgen -W "$opts ${GLOBALS.join(' ')}" -- "$cur"))
}
complete -o default -F _strata strata
`;
}

/** zshCompletion is the bash script through zsh's bashcompinit. */
export function zshCompletion(commands: readonly Command[]): string {
  return `# strata zsh completion: source <(strata completion zsh)
autoload -U +X compinit && compinit
autoload -U +X bashcompinit && bashcompinit
${bashCompletion(commands)}`;
}

/** fishCompletion is a script for `strata completion fish | source`. */
export function fishCompletion(commands: readonly Command[]): string {
  const lines = ['# strata fish completion: strata completion fish > ~/.config/fish/completions/strata.fish', 'complete -c strata -f'];
  lines.push(`complete -c strata -n '__fish_use_subcommand' -a '${[...commands.map((c) => c.name), 'help', 'completion'].join(' ')}'`);
  for (const c of commands) {
    for (const [long, o] of Object.entries(c.options ?? {})) {
      const short = o.short === undefined ? '' : ` -s ${o.short}`;
      const value = o.type === 'string' ? (long === 'tier' ? ` -r -a '${TIER_VALUES}'` : PATH_OPTIONS.includes(`--${long}`) ? ' -r -F' : ' -r') : '';
      lines.push(`complete -c strata -n '__fish_seen_subcommand_from ${c.name}' -l ${long}${short}${value} -d '${o.help.replace(/'/g, "\\'").slice(0, 80)}'`);
    }
  }
  lines.push(`complete -c strata -n '__fish_seen_subcommand_from completion' -a 'bash zsh fish'`);
  return lines.join('\n') + '\n';
}
