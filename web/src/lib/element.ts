import { LitElement } from "lit";

/**
 * Components render into the light DOM: one bundled stylesheet styles everything (no <style>
 * elements or constructed sheets to reconcile with the Content-Security-Policy), and the page
 * stays one document for assistive technology and for tests.
 */
export class LightElement extends LitElement {
  protected override createRenderRoot(): HTMLElement {
    return this;
  }
}

/**
 * Focus the page's heading after a navigation, so keyboard and screen-reader users land on it;
 * unless the page already put the focus somewhere in it (a form field it opened with, a pager button).
 */
export function focusHeading(root: HTMLElement): void {
  const h1 = root.querySelector<HTMLElement>("h1");
  const active = document.activeElement;
  if (h1 && (!active || active === document.body || active === root || !root.contains(active))) h1.focus();
}
