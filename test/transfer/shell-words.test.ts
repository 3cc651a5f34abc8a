import { expect } from 'chai';

import { shellQuote, splitShellWords } from '@kvx/client';

describe('transfer: shell words', () => {
  it('splits on blanks', () => {
    expect(splitShellWords('  systemctl  reload\tnginx\n')).to.deep.equal(['systemctl', 'reload', 'nginx']);
  });

  it('keeps single-quoted text literal', () => {
    expect(splitShellWords(`echo 'a  b' '$HOME \\n'`)).to.deep.equal(['echo', 'a  b', '$HOME \\n']);
  });

  it('honours backslash escapes in double quotes only for $ ` " \\ and newline', () => {
    expect(splitShellWords('echo "a \\"q\\" \\\\ \\x"')).to.deep.equal(['echo', 'a "q" \\ \\x']);
  });

  it('joins adjacent quoted and unquoted parts into one word', () => {
    expect(splitShellWords(`--name="my file"'s'x`)).to.deep.equal(['--name=my filesx']);
  });

  it('produces empty arguments for empty quotes', () => {
    expect(splitShellWords(`cmd '' ""`)).to.deep.equal(['cmd', '', '']);
  });

  it('escapes outside quotes and continues lines after backslash-newline', () => {
    expect(splitShellWords('touch a\\ b \\\n c')).to.deep.equal(['touch', 'a b', 'c']);
  });

  it('refuses unbalanced quotes and a trailing backslash', () => {
    expect(() => splitShellWords(`echo 'open`)).to.throw(/unterminated single quote/);
    expect(() => splitShellWords(`echo "open`)).to.throw(/unterminated double quote/);
    expect(() => splitShellWords('echo \\')).to.throw(/lone backslash/);
  });

  it('refuses shell syntax instead of passing it on as arguments', () => {
    for (const cmd of ['reload || true', 'a; b', 'a > f', 'echo $HOME', 'echo "$(id)"', 'a & b', 'echo `id`']) {
      expect(() => splitShellWords(cmd), cmd).to.throw(/needs a shell/);
    }
  });

  it('names the whole expansion it refuses', () => {
    expect(() => splitShellWords('echo $HOME')).to.throw(/uses "\$HOME" \(an expansion\)/);
    expect(() => splitShellWords('echo ${USER:-x}')).to.throw(/uses "\$\{USER:-x\}"/);
    expect(() => splitShellWords('echo $(id)')).to.throw(/uses "\$\(" \(an expansion\)/);
  });

  it('lets quoted operators and a lone $ through', () => {
    expect(splitShellWords(`grep '|' file $`)).to.deep.equal(['grep', '|', 'file', '$']);
  });

  it('quotes arguments so /bin/sh reads them back unchanged', () => {
    for (const arg of ['plain', 'with space', "it's", '', '$HOME', 'a"b']) {
      expect(splitShellWords(shellQuote(arg))).to.deep.equal([arg]);
    }
  });
});
