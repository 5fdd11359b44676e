// A clinician in Debian's Chromium, driven by playwright-core: sign in, pass the TOTP second factor,
// redeem a sharing code, open the patient, read the charts' numbers, download the PDF; or, with
// PATIENT set, try to open that patient page again (after the person revoked). Prints one JSON line.
import { createHmac } from "node:crypto";
import { writeFileSync } from "node:fs";
import { chromium } from "playwright-core";

const { BASE, EMAIL, PASSWORD, CODE, SECRET, PATIENT, OUT } = process.env;

function base32(text) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const ch of text.replace(/=+$/, "")) bits += alphabet.indexOf(ch).toString(2).padStart(5, "0");
  const bytes = [];
  for (let i = 0; i + 8 <= bits.length; i += 8) bytes.push(parseInt(bits.slice(i, i + 8), 2));
  return Buffer.from(bytes);
}

function totp(secret) {
  // RFC 6238: HMAC-SHA1 over the 30-second counter, dynamic truncation, 6 digits.
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(Date.now() / 1000 / 30)));
  const mac = createHmac("sha1", base32(secret)).update(counter).digest();
  const offset = mac[mac.length - 1] & 0xf;
  return String((mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000).padStart(6, "0");
}

const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const out = {};
try {
  const context = await browser.newContext({ viewport: { width: 1024, height: 1366 }, acceptDownloads: true }); // a tablet
  const page = await context.newPage();
  await page.goto(`${BASE}/accounts/login/?next=/clinician/`);
  await page.fill("input[name=username]", EMAIL);
  await page.fill("input[name=password]", PASSWORD);
  await Promise.all([page.waitForNavigation(), page.click("main button[type=submit]")]);
  const secret = SECRET || (await page.textContent("[data-testid=totp-secret]")).trim();
  out.secret = secret;
  // A code works once per 30-second step: if this step's code was already used (a second sign-in
  // within the same half minute), wait for the next step and enter that one.
  for (let attempt = 0; attempt < 2; attempt++) {
    await page.fill("input[name=code]", totp(secret));
    await Promise.all([page.waitForNavigation(), page.click("main button[type=submit]")]);
    if (!page.url().includes("/clinician/2fa")) break;
    await page.waitForTimeout(30_000 - (Date.now() % 30_000) + 500);
  }
  out.signedIn = !page.url().includes("/clinician/2fa");
  if (PATIENT) {
    const response = await page.goto(`${BASE}/clinician/patients/${PATIENT}/`);
    out.status = response.status();
    await page.screenshot({ path: `${OUT}/after-revoke.png`, fullPage: true });
  } else {
    await page.goto(`${BASE}/clinician/redeem/`);
    await page.fill("input[name=code]", CODE);
    await Promise.all([page.waitForNavigation(), page.click("main button[type=submit]")]);
    await page.screenshot({ path: `${OUT}/triage.png`, fullPage: true });
    out.patient = new URL(page.url()).searchParams.get("redeemed");
    await page.goto(`${BASE}/clinician/patients/${out.patient}/`);
    await page.waitForSelector("[data-testid=chart-per-week] svg");
    out.episodeCount = (await page.textContent("[data-testid=episode-count]")).trim();
    out.summary = {};
    for (const id of ["pain-median", "pain-worst", "longest", "rate-now", "trend"]) {
      const el = page.locator(`[data-testid=${id}]`);
      out.summary[id] = (await el.count()) ? (await el.first().textContent()).trim() : null;
    }
    out.redFlags = await page.locator("[data-testid=red-flag]").allTextContents();
    out.pageText = await page.locator("main").innerText();
    out.charts = await page.locator("figure svg").count();
    out.chartTexts = await page.locator("[data-testid=chart-where] svg text").allTextContents();
    out.episodeRows = await page.locator("[data-testid=episodes] tbody tr").count();
    out.alerts = await page.locator("[data-testid=alerts] li").allTextContents();
    await page.screenshot({ path: `${OUT}/patient.png`, fullPage: true });
    const [download] = await Promise.all([page.waitForEvent("download"), page.click("a[data-testid=pdf]")]);
    await download.saveAs(`${OUT}/report.pdf`);
    out.pdf = `${OUT}/report.pdf`;
  }
} finally {
  await browser.close();
}
writeFileSync(1, JSON.stringify(out) + "\n");
