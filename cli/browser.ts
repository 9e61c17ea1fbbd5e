// Opens a URL in the person's browser, never through a shell: a sign-in URL is full of `&`, which
// cmd.exe (Windows' `start`) reads as a command separator, so Windows gets rundll32's URL handler.
import { spawn } from 'node:child_process';

/** Waits this long for the opener to fail before taking it as launched (xdg-open may run the browser itself). */
const LAUNCH_WAIT_MS = 2_000;

/** The program and arguments that open `url` on `platform`. */
export function browserCommand(platform: NodeJS.Platform, url: string): [string, string[]] {
  if (platform === 'darwin') return ['open', [url]];
  if (platform === 'win32') return ['rundll32', ['url.dll,FileProtocolHandler', url]];
  return ['xdg-open', [url]];
}

/** True once the browser was asked to open `url`; false when no opener ran or it failed. */
export function openInBrowser(url: string, platform: NodeJS.Platform = process.platform): Promise<boolean> {
  const [command, args] = browserCommand(platform, url);
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: 'ignore', detached: true });
    const launched = setTimeout(() => {
      child.unref();
      resolve(true);
    }, LAUNCH_WAIT_MS);
    const settle = (opened: boolean) => {
      clearTimeout(launched);
      resolve(opened);
    };
    child.once('error', () => settle(false));
    child.once('exit', (code) => settle(code === 0));
  });
}
