"""What the browser scripts share: headless Chromium, the mail the SMTP test
server keeps, the page's heading, and the kuvert command."""
import email
import email.policy
import glob
import os
import re
import subprocess
import time

from selenium import webdriver
from selenium.common.exceptions import JavascriptException, StaleElementReferenceException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By


SIZES = {"phone": (360, 800), "desktop": (1280, 860)}

# Contrast ratio (WCAG 2) of an element's text against the first opaque
# background behind it.
CONTRAST_JS = """
function rgb(text) { const m = text.match(/[\\d.]+/g).map(Number); return {r: m[0], g: m[1], b: m[2], a: m.length > 3 ? m[3] : 1}; }
function lum(c) { const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
  return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b); }
function background(el) { for (; el; el = el.parentElement) { const c = rgb(getComputedStyle(el).backgroundColor); if (c.a > 0.5) return c; }
  return {r: 255, g: 255, b: 255, a: 1}; }
const results = [];
for (const el of document.querySelectorAll('h1, h2, p, label, li, button, a')) {
  if (!el.offsetParent || !el.textContent.trim()) continue;
  const fg = lum(rgb(getComputedStyle(el).color)), bg = lum(background(el));
  results.push({tag: el.tagName, text: el.textContent.trim().slice(0, 40),
                ratio: (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05)});
}
return results;
"""


def inspect(driver, name, shots):
    """What holds on every Kuvert page, in Swedish: marked so, every field
    labelled, nothing scrolling sideways on a 360 px phone, WCAG AA contrast;
    then a phone and a desktop screenshot of the whole page in `shots`."""
    check(driver.execute_script("return document.documentElement.lang") == "sv", f"{name}: the page is not marked Swedish")
    for field in driver.find_elements(By.CSS_SELECTOR, "input:not([type=hidden]), textarea, select"):
        if not field.is_displayed():
            continue
        labelled = field.get_attribute("id") and driver.find_elements(By.CSS_SELECTOR, f"label[for='{field.get_attribute('id')}']")
        wrapped = driver.execute_script("return arguments[0].closest('label') !== null", field)
        check(labelled or wrapped, f"{name}: the field {field.get_attribute('name')} has no label")
    for width_name, (width, height) in SIZES.items():
        driver.set_window_size(width, height)
        overflow = driver.execute_script("return document.documentElement.scrollWidth - document.documentElement.clientWidth")
        check(overflow <= 0, f"{name}: the page scrolls sideways by {overflow}px at {width}px")
        low = [r for r in driver.execute_script(CONTRAST_JS) if r["ratio"] < 4.5]
        check(not low, f"{name}: too little contrast at {width}px: {low}")
        full = driver.execute_script("return Math.max(document.body.scrollHeight, document.documentElement.scrollHeight)")
        driver.set_window_size(width, max(height, min(full + 40, 2400)))
        driver.save_screenshot(os.path.join(shots, f"{name}-{width_name}.png"))
    driver.set_window_size(*SIZES["desktop"])


class Failure(Exception):
    pass


def check(condition, what):
    if not condition:
        raise Failure(what)


def browser(lang, accept_languages=None):
    """Headless Chromium at 1:1 pixels; `lang` is the browser's own language."""
    options = Options()
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--hide-scrollbars", "--force-device-scale-factor=1", f"--lang={lang}", "--font-render-hinting=none"):
        options.add_argument(flag)
    if accept_languages:
        options.add_experimental_option("prefs", {"intl.accept_languages": accept_languages})
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


def mails(mail_dir, count, timeout=20):
    """The first `count` mails the SMTP test server kept, oldest first."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        files = sorted(glob.glob(os.path.join(mail_dir, "*.eml")))
        if len(files) >= count:
            return [email.message_from_binary_file(open(f, "rb"), policy=email.policy.default) for f in files]
        time.sleep(0.1)
    raise Failure(f"expected {count} mails within {timeout} s")


def h1(driver, expected=None, timeout=10):
    """The heading of the current document (a frame's, once switched into);
    with `expected`, waits for one that starts with it."""
    deadline = time.time() + timeout
    while True:
        # One script reads the heading: an element found first and read after
        # goes stale when the page is replaced in between (a form just sent).
        try:
            text = driver.execute_script("const h = document.querySelector('h1'); return h ? h.innerText : ''")
        except (StaleElementReferenceException, JavascriptException):
            text = ""  # The page is being replaced: ask again.
        if expected is None or text.startswith(expected) or time.time() > deadline:
            if expected is not None and not text.startswith(expected):
                source = re.sub(r"\s+", " ", driver.page_source)[:600]
                raise Failure(f"expected a page headed {expected!r} at {driver.current_url}, got {text!r}: {source}")
            return text
        time.sleep(0.1)


def main_text(driver):
    """The text of the current page's main, read by one script (as `h1`
    reads the heading); empty while the page is being replaced."""
    try:
        return driver.execute_script("const m = document.querySelector('main'); return m ? m.innerText : ''")
    except (StaleElementReferenceException, JavascriptException):
        return ""


def kuvert(executable, *arguments):
    result = subprocess.run([executable, *arguments], capture_output=True, text=True)
    check(result.returncode == 0, f"kuvert {' '.join(arguments)}: {result.stderr.strip()}")
    return result.stdout.strip()
