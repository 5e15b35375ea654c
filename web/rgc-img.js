/**
 * <rgc-img src="photo.rgc" alt="..."> shows an .rgc image as <img> shows a JPEG: one line,
 * `<script type="module" src="rgc-img.js"></script>`, and the element fetches, decodes and draws it.
 *
 * Like <img>: its intrinsic size is the image's (turned by its EXIF orientation), width and height attributes
 * set its CSS size, alt names it to assistive technology and stands in its place when it fails, loading="lazy"
 * waits until it nears the viewport, and it fires load and error events. While loading, once loaded and after
 * failing it is in the custom states :state(loading), :state(loaded) and :state(error) (and has data-state
 * set to the same, for browsers without custom states); `complete`,
 * `naturalWidth`, `naturalHeight`, `error` and `decode()` answer as <img>'s do.
 */
import { fetchImageData } from './rgc.js';

const STYLE = `
:host { display: inline-block; position: relative; overflow: hidden; vertical-align: baseline; }
canvas { display: block; width: 100%; height: 100%; }
:host(:not([width])) canvas, :host(:not([height])) canvas { max-width: 100%; height: auto; }
.alt { display: none; box-sizing: border-box; padding: 2px 4px; font: inherit; color: inherit;
       border: 1px solid currentColor; opacity: .7; }
:host([data-state="error"]) canvas { display: none; }
:host([data-state="error"]) .alt:not(:empty) { display: inline-block; }
`;

/** The custom element <rgc-img>. */
export class RgcImg extends HTMLElement {
  static observedAttributes = ['src', 'alt', 'width', 'height', 'loading'];

  #internals = this.attachInternals();
  #canvas;
  #alt;
  #abort = null; // cancels the load in flight
  #observer = null; // waits for a lazy image to near the viewport
  #settled = null; // {promise, resolve, reject} of the current load, for decode()
  #src = null; // the source shown, or being fetched and decoded
  error = null; // the Error of the last failed load, or null

  constructor() {
    super();
    const root = this.attachShadow({ mode: 'open' });
    root.innerHTML = `<style>${STYLE}</style><canvas part="canvas" width="0" height="0"></canvas><span class="alt" part="alt"></span>`;
    this.#canvas = root.querySelector('canvas');
    this.#alt = root.querySelector('.alt');
    this.#internals.role = 'img';
  }

  connectedCallback() {
    this.#update();
  }

  disconnectedCallback() {
    this.#cancel();
  }

  attributeChangedCallback(name) {
    if (name === 'alt') {
      this.#internals.ariaLabel = this.alt;
      this.#alt.textContent = this.alt;
    } else if (name === 'width' || name === 'height') {
      const value = this.getAttribute(name);
      this.style.setProperty(name, value === null ? '' : /^\d+$/.test(value) ? `${value}px` : value);
    } else if (this.isConnected) {
      this.#update();
    }
  }

  get src() {
    const src = this.getAttribute('src');
    return src === null ? '' : new URL(src, document.baseURI).href;
  }
  set src(value) {
    this.setAttribute('src', value);
  }
  get alt() {
    return this.getAttribute('alt') ?? '';
  }
  set alt(value) {
    this.setAttribute('alt', value);
  }
  get loading() {
    return this.getAttribute('loading') === 'lazy' ? 'lazy' : 'eager';
  }
  set loading(value) {
    this.setAttribute('loading', value);
  }
  /** The image's width in pixels as displayed (after its EXIF orientation); 0 until loaded. */
  get naturalWidth() {
    return this.#is('loaded') ? this.#canvas.width : 0;
  }
  get naturalHeight() {
    return this.#is('loaded') ? this.#canvas.height : 0;
  }
  /** Whether loading is over, in success or failure, or there is nothing to load. */
  get complete() {
    return !this.#is('loading');
  }
  /** A promise that resolves once the image is shown, or rejects with the load's error. */
  decode() {
    if (this.#is('loaded')) return Promise.resolve();
    if (this.#is('error')) return Promise.reject(this.error);
    if (!this.getAttribute('src')) return Promise.reject(new DOMException('no src to decode', 'EncodingError'));
    return this.#pending().promise;
  }

  #pending() {
    if (!this.#settled) {
      let resolve;
      let reject;
      const promise = new Promise((res, rej) => ([resolve, reject] = [res, rej]));
      promise.catch(() => {}); // a failure nobody awaited is reported by the error event, not as unhandled
      this.#settled = { promise, resolve, reject };
    }
    return this.#settled;
  }

  /** Enter one of the states loading, loaded, error (or none): a custom state where the browser has them. */
  #state(name) {
    const states = this.#internals.states;
    if (states) {
      for (const s of ['loading', 'loaded', 'error']) states.delete(s);
      if (name) states.add(name);
    }
    if (name) this.dataset.state = name; // for CSS in browsers without :state()
    else delete this.dataset.state;
  }

  #is(name) {
    return this.dataset.state === name;
  }

  #cancel() {
    this.#abort?.abort();
    this.#abort = null;
    this.#observer?.disconnect();
    this.#observer = null;
  }

  #update() {
    const src = this.getAttribute('src');
    if (!src) {
      this.#cancel();
      this.#src = null;
      this.#state(null);
      return;
    }
    if (this.src === this.#src && !this.#is('error')) return; // shown, or on its way
    this.#cancel();
    this.#src = this.src;
    this.#state('loading');
    this.#pending();
    if (this.loading === 'lazy' && typeof IntersectionObserver !== 'undefined') {
      this.#observer = new IntersectionObserver(
        (entries) => {
          if (entries.some((e) => e.isIntersecting)) {
            this.#observer.disconnect();
            this.#observer = null;
            this.#load();
          }
        },
        { rootMargin: '200px' },
      );
      this.#observer.observe(this);
    } else {
      this.#load();
    }
  }

  async #load() {
    const src = this.src;
    const abort = new AbortController();
    this.#abort = abort;
    try {
      const image = await fetchImageData(src, { signal: abort.signal });
      if (abort.signal.aborted) return;
      this.#canvas.width = image.width;
      this.#canvas.height = image.height;
      this.#canvas.getContext('2d').putImageData(image, 0, 0);
      this.error = null;
      this.#state('loaded');
      this.#settled?.resolve();
      this.#settled = null;
      this.dispatchEvent(new Event('load'));
    } catch (error) {
      if (abort.signal.aborted) return;
      this.#canvas.width = 0;
      this.#canvas.height = 0;
      this.error = error;
      this.#state('error');
      this.#settled?.reject(error);
      this.#settled = null;
      this.dispatchEvent(new Event('error'));
    }
  }
}

if (!customElements.get('rgc-img')) customElements.define('rgc-img', RgcImg);
