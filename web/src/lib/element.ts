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

/** Focus the page's heading after a navigation, so keyboard and screen-reader users land on it. */
export function focusHeading(root: HTMLElement): void {
  const h1 = root.querySelector<HTMLElement>("h1");
  if (h1 && !h1.contains(document.activeElement)) h1.focus({ preventScroll: false });
}
