import { existsSync } from 'node:fs';
import { type Browser, chromium, type Page } from 'playwright-core';

/** Debian's Chromium (`apt-get install chromium`; .ci/run installs it when missing). */
export const CHROMIUM_PATH = '/usr/bin/chromium';

/**
 * Nothing that reaches out on its own: no QUIC, no first-run, no background or component
 * updates, no sync. Machines here reach only the npm registry and Debian's packages.
 */
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * Launches Chromium with a fresh profile: Playwright gives every launch a new temporary
 * user-data-dir (and removes it on close), and every context is isolated from the others,
 * as two people on two machines would be.
 */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) throw new Error(`No Chromium at ${CHROMIUM_PATH}: apt-get install -y chromium (bash .ci/run does)`);
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, headless: true });
}

/**
 * The text an editor page shows, line by line as the person sees it: CodeMirror's lines,
 * without the name tags y-codemirror puts on other people's cursors.
 */
export function editorText(page: Page): Promise<string> {
  return page.evaluate(() =>
    Array.from(document.querySelectorAll('#editor .cm-content > .cm-line'))
      .map((line) => {
        const copy = line.cloneNode(true) as HTMLElement;
        for (const widget of Array.from(copy.querySelectorAll('.cm-ySelectionCaret, .cm-widgetBuffer'))) widget.remove();
        return copy.textContent ?? '';
      })
      .join('\n'),
  );
}

/** The save indicator's state: connecting, offline, syncing, saved or denied. */
export function saveState(page: Page): Promise<string | undefined> {
  return page.locator('#save-status').evaluate((element) => (element as HTMLElement).dataset.state);
}
