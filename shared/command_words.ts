// The simple commands of a shell script, each as its normalized words: what rules match
// on (shared/rule_match.ts), on the server and in the hook runner alike.
// TEMPORARY: the lead replaces this with shared/command_policy.ts's parser at merge
// (mvdan-sh: assignments stripped, `/bin/rm` → `rm`, env/sudo/nice unwrapped, `bash -c`
// recursed, `$()` and backticks looked into). Until then a naive split: on `&&`, `||`, `;`,
// `|`, `&` and newlines, then on whitespace (single and double quotes group words), a
// leading `VAR=value` dropped and a path reduced to its program name. Anything it cannot
// read safely (substitutions, unbalanced quotes, redirections inside quotes are fine) is
// unparseable, which never matches a rule.

/** The script's simple commands as normalized words, or null when it cannot be parsed. */
export function simpleCommands(command: string): Promise<string[][] | null> {
  return Promise.resolve(naiveSimpleCommands(command));
}

function naiveSimpleCommands(command: string): string[][] | null {
  if (/[`$(){}<>\\]/.test(command)) return null;
  const commands: string[][] = [];
  let words: string[] = [];
  let word = "";
  let inWord = false;
  const endWord = () => {
    if (inWord) words.push(word);
    word = "";
    inWord = false;
  };
  const endCommand = () => {
    endWord();
    if (words.length > 0) commands.push(words);
    words = [];
  };
  for (let i = 0; i < command.length; i++) {
    const c = command[i];
    if (c === "'" || c === '"') {
      const close = command.indexOf(c, i + 1);
      if (close < 0) return null;
      word += command.slice(i + 1, close);
      inWord = true;
      i = close;
    } else if (c === ";" || c === "|" || c === "&" || c === "\n") {
      endCommand();
    } else if (/\s/.test(c)) {
      endWord();
    } else {
      word += c;
      inWord = true;
    }
  }
  endCommand();
  const normalized: string[][] = [];
  for (const w of commands) {
    let start = 0;
    while (start < w.length && /^[A-Za-z_][A-Za-z0-9_]*=/.test(w[start])) start++;
    const rest = w.slice(start);
    if (rest.length === 0) continue;
    const program = rest[0].includes("/") ? rest[0].slice(rest[0].lastIndexOf("/") + 1) : rest[0];
    if (program === "") return null;
    normalized.push([program, ...rest.slice(1)]);
  }
  return normalized;
}
