// page.mjs - prov serve's page in headless Chromium (Debian's
// /usr/bin/chromium driven by playwright-core): upload files through the
// file chooser and check what the page shows.
// usage: node page.mjs BASE_URL SHOTS_DIR SIGNED TAMPERED UNSIGNED EDITED SIGNER_NAME
import { chromium } from "playwright-core";

const [base, shots, signed, tampered, unsigned, edited, signerName] = process.argv.slice(2);
const exe = process.env.CHROMIUM || "/usr/bin/chromium";
let pass = 0, fail = 0;
function check(name, ok, detail) {
  if (ok) { pass++; console.log(`web: ok   ${name}`); }
  else { fail++; console.log(`web: FAIL ${name}${detail ? ": " + detail : ""}`); }
}

const browser = await chromium.launch({ executablePath: exe, headless: true, args: ["--no-sandbox", "--disable-gpu"] });
const page = await browser.newPage();
const consoleErrors = [];
page.on("console", (m) => {
  // the canned 413 below is logged by the browser itself; anything else counts
  if (m.type() === "error" && !m.text().includes("status of 413")) consoleErrors.push(m.text());
});
page.on("pageerror", (e) => consoleErrors.push(String(e)));
await page.goto(base + "/");
check("the page loads with its drop zone", await page.locator("#drop").isVisible());

async function upload(file, shot) {
  await page.locator("#state").evaluate((e) => e.removeAttribute("data-state"));
  await page.setInputFiles("#file", file);
  // locator waits, not waitForFunction: the page's CSP forbids eval
  await page.locator("#state[data-state], #error[style*=block]").first().waitFor({ timeout: 15000 });
  await page.screenshot({ path: `${shots}/${shot}.png`, fullPage: true });
  return {
    state: await page.locator("#state").getAttribute("data-state"),
    text: await page.locator("#result").innerText(),
    failures: await page.locator("#checks tr[data-kind=failure] code").allInnerTexts(),
    successes: await page.locator("#checks tr[data-kind=success] code").allInnerTexts(),
    thumb: await page.locator("#thumb").getAttribute("src"),
    ingredientThumbs: await page.locator("#ingredients img").evaluateAll((l) => l.map((i) => i.src.slice(0, 22))),
  };
}

let r = await upload(signed, "signed");
check("signed file: badge says trusted", r.state === "trusted", r.state);
check("signed file: the signer's registered name is shown", r.text.includes(signerName), r.text.slice(0, 300));
check("signed file: key status active", /key status\s*active/.test(r.text), r.text.slice(0, 500));
check("signed file: the claim thumbnail is shown", (r.thumb || "").startsWith("data:image/jpeg;base64,"), (r.thumb || "").slice(0, 40));
check("signed file: the tool and the action are shown", r.text.includes("prov") && r.text.includes("created"));
check("signed file: its checks are listed with success codes", r.successes.includes("claimSignature.validated") && r.failures.length === 0,
      JSON.stringify(r.failures));

r = await upload(tampered, "tampered");
check("tampered file: badge says invalid", r.state === "invalid", r.state);
check("tampered file: the failure code assertion.dataHash.mismatch is shown", r.failures.includes("assertion.dataHash.mismatch"),
      JSON.stringify(r.failures));

r = await upload(unsigned, "unsigned");
check("unsigned file: badge says unsigned", r.state === "unsigned", r.state);
check("unsigned file: the page says so in words", /unsigned/i.test(r.text) && r.text.includes("no Content Credentials"));

r = await upload(edited, "edited");
check("edited file: the edit history and its ingredient are shown", r.text.includes("cropped") && r.text.includes("Ingredients"),
      r.text.slice(0, 600));
check("edited file: the ingredient's thumbnail is shown", r.ingredientThumbs.some((s) => s.startsWith("data:image/jpeg")),
      JSON.stringify(r.ingredientThumbs));

// A response with a detector object and soft-binding candidates renders them
// (the page is driven with a canned answer: the server in this test has no detector).
await page.route("**/v1/verify*", (route) => route.fulfill({
  status: 200, contentType: "application/json",
  body: JSON.stringify({ file: "x.jpg", state: "unsigned", codes: { success: [], failure: [], informational: [] },
    detector: { probability: 0.873, verdict: "likely-ai-made", threshold: 0.8, false_positive_rate: 0.05, model: "npr-test" },
    derived_from: [{ manifest: "urn:c2pa:1234", distance: 3, signer: "Jane" }] }) }));
r = await upload(unsigned, "detector");
check("detector: the probability is shown", r.text.includes("87.3%") && r.text.includes("Likely AI-made at the threshold 0.8") && r.text.includes("flags 5% of real photos"), r.text.slice(0, 500));
check("derived_from: the candidates are shown", r.text.includes("urn:c2pa:1234"), r.text.slice(0, 800));
await page.unroute("**/v1/verify*");
await page.route("**/v1/verify*", (route) => route.fulfill({ status: 413, contentType: "application/json",
  body: '{"error":"body over --max-body"}' }));
await page.setInputFiles("#file", signed);
await page.locator("#error[style*=block]").waitFor({ timeout: 15000 });
check("an error answer is shown clearly", (await page.locator("#error").innerText()).includes("too large"));
check("no script errors in the page", consoleErrors.length === 0, consoleErrors.join(" | "));

if (process.env.WEB_KEEP_SHOTS) console.log(`web: screenshots in ${shots}`);
await browser.close();
console.log(`web: ${pass} passed, ${fail} failed`);
process.exit(fail ? 1 : 0);
