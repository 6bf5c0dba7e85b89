// Entry: registers the service worker (offline shell, notifications) and renders the app.
import { render } from "preact";
import { App } from "./app.tsx";

if ("serviceWorker" in navigator) {
  navigator.serviceWorker.register("sw.js").catch((error) => {
    console.warn("service worker not registered:", error);
  });
}
render(<App />, document.getElementById("app")!);
