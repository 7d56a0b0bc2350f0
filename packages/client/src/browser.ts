export * from "./index.ts";
export { type BrowserUploadOptions, uploadBrowserFile } from "./upload-browser.ts";
