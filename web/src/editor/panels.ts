/**
 * The side panels (preview, history, share) as WAI-ARIA tabs: one shows at a time, arrow keys
 * move between the tabs, Tab moves into the panel.
 */
export function setUpPanels(tablist: HTMLElement, onShow: (panelId: string) => void): { current(): string } {
  const tabs = [...tablist.querySelectorAll<HTMLButtonElement>('[role="tab"]')];
  let current = tabs.find((tab) => tab.getAttribute('aria-selected') === 'true')?.getAttribute('aria-controls') ?? '';

  const select = (chosen: HTMLButtonElement, focus: boolean) => {
    for (const tab of tabs) {
      const selected = tab === chosen;
      tab.setAttribute('aria-selected', String(selected));
      tab.tabIndex = selected ? 0 : -1;
      const panel = document.getElementById(tab.getAttribute('aria-controls') ?? '');
      if (panel) panel.hidden = !selected;
    }
    if (focus) chosen.focus();
    current = chosen.getAttribute('aria-controls') ?? '';
    onShow(current);
  };

  tabs.forEach((tab, index) => {
    tab.addEventListener('click', () => select(tab, false));
    tab.addEventListener('keydown', (event) => {
      const step = event.key === 'ArrowRight' ? 1 : event.key === 'ArrowLeft' ? -1 : 0;
      const target = event.key === 'Home' ? tabs[0] : event.key === 'End' ? tabs.at(-1) : step ? tabs[(index + step + tabs.length) % tabs.length] : undefined;
      if (!target) return;
      event.preventDefault();
      select(target, true);
    });
  });
  return { current: () => current };
}
