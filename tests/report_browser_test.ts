/**
 * The report in a real browser: headless Chromium (Debian `chromium`) opens index.html and the
 * test drives it over the Chrome DevTools protocol: every figure has a non-zero size, Korean
 * text is drawn in a Noto CJK font, the language switch flips which article shows, and a
 * screenshot is saved (also to /tmp/report_browser.png). Skips without chromium, except when
 * CI=true, where a missing browser is a failure. No network is used.
 */
import assert from "node:assert/strict";
import { paramsSchema, run } from "../pipeline/stages/report.ts";
import {
  fakeFetchDir,
  fakeSegmentationDirs,
  fakeSegmentationResults,
  fullResults,
  makeContext,
  tempDirs,
} from "./report_fixture.ts";
import { Cdp, hasChromium, launch } from "./_chromium.ts";

const CI = Deno.env.get("CI") === "true";

const available = hasChromium();
if (!available && !CI) {
  console.warn("report_browser_test: skipped, no `chromium` on PATH (apt-get install chromium)");
}

/** The DevTools client of the page chromium opened on index.html, once the report has loaded. */
async function openReport(port: number): Promise<Cdp> {
  let page: { type: string; url: string; webSocketDebuggerUrl: string } | undefined;
  for (let i = 0; i < 50 && !page; i++) {
    const list = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json();
    page = list.find((p: { type: string; url: string }) => p.type === "page" && p.url.endsWith("index.html"));
    if (!page) await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(page, "chromium opened no page for index.html");
  const cdp = await Cdp.open(page.webSocketDebuggerUrl);
  // Under load the target can report index.html while the old blank document is still live:
  // poll until the report's own document has loaded.
  for (let i = 0; i < 200; i++) {
    const ready = await cdp.eval<boolean>(
      `location.href.endsWith("index.html") && document.readyState === "complete" &&
        document.querySelectorAll("figure > svg").length > 0`,
    ).catch(() => false);
    if (ready) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  await cdp.eval(`document.fonts.ready.then(() => 1)`);
  return cdp;
}

Deno.test({
  name: "report browser: figures render, Korean uses a CJK font, the language switch works",
  ignore: !available && !CI,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    assert.ok(available, "CI=true but `chromium` is not installed (apt-get install chromium)");
    const { artifacts, out } = await tempDirs(fullResults());
    const { ctx } = makeContext(paramsSchema.parse({}), artifacts, out);
    ctx.depDirs = { fetch: await fakeFetchDir(6) };
    const result = await run(ctx);
    const figuresPerLang = (result.summary.figures as number) / 2;
    const profile = await Deno.makeTempDir({ prefix: "edgeslim-chromium-" });
    const { child, port } = await launch(`file://${out}/index.html`, profile);
    let cdp: Cdp | undefined;
    try {
      cdp = await openReport(port);

      // Korean first (the default language): every figure of the Korean article is drawn.
      const sized = (lang: string) =>
        cdp!.eval<number>(`[...document.querySelectorAll('article[data-lang-block="${lang}"] figure > svg')]
          .filter((s) => { const r = s.getBoundingClientRect(); return r.width > 0 && r.height > 0; }).length`);
      await cdp.eval(`(document.documentElement.setAttribute("data-lang", "ko"), 1)`);
      assert.equal(await sized("ko"), figuresPerLang, "every Korean figure has a non-zero size");
      assert.equal(await sized("en"), 0, "the English article is hidden");
      const images = await cdp.eval<number>(
        `[...document.querySelectorAll('article[data-lang-block="ko"] .samples img')].filter((i) => i.complete && i.naturalWidth > 0).length`,
      );
      assert.equal(images, 6, "sample images decoded");

      // The Korean heading is drawn with a Noto CJK font.
      await cdp.send("DOM.enable");
      await cdp.send("CSS.enable");
      const { root } = await cdp.send("DOM.getDocument", { depth: -1 });
      const { nodeId } = await cdp.send("DOM.querySelector", {
        nodeId: root.nodeId,
        selector: 'article[data-lang-block="ko"] h1',
      });
      const { fonts } = await cdp.send("CSS.getPlatformFontsForNode", { nodeId });
      const families = (fonts as { familyName: string }[]).map((f) => f.familyName);
      assert.ok(
        families.some((f) => /Noto (Sans|Serif) CJK/.test(f)),
        `Korean heading fonts: ${families.join(", ")}`,
      );

      const shot = await cdp.send("Page.captureScreenshot", { format: "png" });
      const png = Uint8Array.from(atob(shot.data), (c) => c.charCodeAt(0));
      await Deno.writeFile(`${out}/screenshot.ko.png`, png);
      await Deno.writeFile("/tmp/report_browser.png", png);

      // The switch shows English and hides Korean; clicking again goes back.
      await cdp.eval(`(document.getElementById("lang-switch").click(), 1)`);
      assert.equal(await cdp.eval<string>(`document.documentElement.getAttribute("data-lang")`), "en");
      assert.equal(await sized("en"), figuresPerLang, "every English figure has a non-zero size");
      assert.equal(await sized("ko"), 0, "the Korean article is hidden after switching");
      assert.equal(await cdp.eval<string>(`document.title`), "edgeslim report — quick");
      await cdp.eval(`(document.getElementById("lang-switch").click(), 1)`);
      assert.equal(await cdp.eval<string>(`document.documentElement.getAttribute("data-lang")`), "ko");
    } finally {
      await cdp?.close();
      child.kill();
      await child.status;
      await Deno.remove(profile, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test({
  name:
    "report browser: with both tracks, the U-Net section's table, figures and overlays show in both languages",
  ignore: !available && !CI,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    assert.ok(available, "CI=true but `chromium` is not installed (apt-get install chromium)");
    const { artifacts, out } = await tempDirs([fullResults(), fakeSegmentationResults()]);
    const { ctx } = makeContext(paramsSchema.parse({ samples: 4 }), artifacts, out);
    ctx.depDirs = { fetch: await fakeFetchDir(4), ...await fakeSegmentationDirs(4) };
    await run(ctx);
    const profile = await Deno.makeTempDir({ prefix: "edgeslim-chromium-" });
    const { child, port } = await launch(`file://${out}/index.html`, profile);
    let cdp: Cdp | undefined;
    try {
      cdp = await openReport(port);
      // What the segmentation section of `lang` shows: headings, the techniques table, figures, overlay images.
      const section = (lang: string) =>
        cdp!.eval<
          { heading: string; rows: number; marked: string; figures: string[]; images: number; shown: number }
        >(`(() => {
          const article = document.querySelector('article[data-lang-block="${lang}"]');
          const h2 = article.querySelector("#${lang}-segmentation");
          const h3 = article.querySelector("#${lang}-seg-techniques");
          const table = h3.nextElementSibling.querySelector("table");
          const marked = [...table.querySelectorAll("tbody tr")].find((tr) => tr.lastElementChild.textContent.includes("★"));
          const figures = [...article.querySelectorAll('figure[id^="fig-seg_"]')].filter((f) => {
            const r = f.querySelector("svg").getBoundingClientRect();
            return r.width > 0 && r.height > 0;
          }).map((f) => f.id);
          const imgs = [...article.querySelectorAll("table.image-grid img")];
          return {
            heading: h2.textContent,
            rows: table.querySelectorAll("tbody tr").length,
            marked: marked ? marked.firstElementChild.textContent + " " + marked.children[2].textContent : "",
            figures,
            images: imgs.filter((i) => i.complete && i.naturalWidth === 96 && i.getBoundingClientRect().width > 0).length,
            shown: h2.getBoundingClientRect().height,
          };
        })()`);
      await cdp.eval(`(document.documentElement.setAttribute("data-lang", "ko"), 1)`);
      const ko = await section("ko");
      assert.equal(ko.heading, "U-Net 분할 (시드 000)");
      assert.equal(ko.rows, 30, "10 variants × (fp32, onnx-fp16, onnx-int8)");
      assert.equal(ko.marked, "unet_small_kd fp32");
      assert.deepEqual(ko.figures.sort(), [
        "fig-seg_dice_params.ko",
        "fig-seg_pareto_0.ko",
        "fig-seg_pareto_1.ko",
        "fig-seg_training_curves.ko",
      ]);
      assert.equal(ko.images, 4 * 5, "overlay PNGs decoded and drawn");
      assert.ok(ko.shown > 0);
      await cdp.eval(`(document.getElementById("lang-switch").click(), 1)`);
      const en = await section("en");
      assert.equal(en.heading, "U-Net segmentation (seed 000)");
      assert.equal(en.figures.length, 4);
      assert.equal(en.images, 4 * 5);
      assert.equal((await section("ko")).shown, 0, "the Korean section is hidden after switching");
      assert.equal(
        await cdp.eval<string>(`document.title`),
        "edgeslim report — quick: classification and segmentation",
      );
      const shot = await cdp.send("Page.captureScreenshot", { format: "png", captureBeyondViewport: false });
      await Deno.writeFile(
        `${out}/screenshot.seg.png`,
        Uint8Array.from(atob(shot.data), (c) => c.charCodeAt(0)),
      );
    } finally {
      await cdp?.close();
      child.kill();
      await child.status;
      await Deno.remove(profile, { recursive: true }).catch(() => {});
    }
  },
});
