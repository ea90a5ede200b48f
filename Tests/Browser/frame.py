"""The embeddable form in a website's iframe, and the mails on a phone, in headless Chromium.

A website on another origin (served here by Python's http.server) embeds
Kuvert's /form with the iframe Deploy/form.html suggests -> the form fits the
frame at phone and desktop widths -> an address Kuvert refuses: the error page
with the form again, inside the frame -> a good address: "check your inbox",
inside the frame. Then each mail's HTML (the confirmation, and a newsletter
with a wide image, a long link, a long code line and a wide table, and the
privacy link's mail) is opened at 390 px: nothing may scroll sideways.

Started by the Swift test BrowserJourneyTests.framedForm, which starts Kuvert
with KUVERT_FRAME_ANCESTORS naming the website's origin.

Usage: frame.py --base URL --site-port PORT --mail-dir DIR --kuvert PATH --list SLUG --form FILE --shots DIR
"""
import argparse
import base64
import http.server
import json
import os
import re
import struct
import sys
import tempfile
import threading
import time
import zlib

from selenium.common.exceptions import NoSuchElementException
from selenium.webdriver.common.by import By

import browsing
from browsing import Failure, browser, check, h1

PHONE, DESKTOP = (390, 844), (1280, 860)

parser = argparse.ArgumentParser()
for name in ("base", "site-port", "mail-dir", "kuvert", "list", "form", "shots"):
    parser.add_argument("--" + name, required=True)
args = parser.parse_args()
os.makedirs(args.shots, exist_ok=True)
steps = []


def mails(count):
    return browsing.mails(args.mail_dir, count)


def kuvert(*arguments):
    return browsing.kuvert(args.kuvert, *arguments)


def fits(driver, name):
    """Inside the frame: nothing cut at the bottom (the button shows), nothing wider than the frame."""
    size = driver.execute_script(
        "const d = document.documentElement; return [d.scrollWidth, d.clientWidth, d.scrollHeight, d.clientHeight]")
    check(size[0] <= size[1], f"{name}: the frame's page scrolls sideways ({size[0]} > {size[1]} px)")
    check(size[2] <= size[3], f"{name}: the frame cuts its page at the bottom ({size[2]} > {size[3]} px)")
    return size


def shot(driver, name, size):
    driver.switch_to.default_content()
    driver.set_window_size(*size)
    driver.save_screenshot(os.path.join(args.shots, f"{name}.png"))


def no_sideways_scroll(driver, html, name):
    """A mail's HTML part opened at phone width scrolls only downwards."""
    page = tempfile.NamedTemporaryFile("w", suffix=".html", delete=False, encoding="utf-8")
    page.write(html)
    page.close()
    driver.set_window_size(*PHONE)
    driver.get("file://" + page.name)
    time.sleep(0.2)  # let images decode before measuring
    overflow = driver.execute_script("return document.documentElement.scrollWidth - document.documentElement.clientWidth")
    check(overflow <= 0, f"{name}: the mail scrolls sideways by {overflow}px at {PHONE[0]}px")
    full = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(PHONE[0], min(max(full, PHONE[1]), 2400))
    driver.save_screenshot(os.path.join(args.shots, f"{name}.png"))
    steps.append({"step": name, "overflow": overflow})


def wide_png(width=1600, height=120):
    """A solid PNG wider than any phone, as a data: address."""
    raw = b"".join(b"\x00" + b"\x12\x4e\x8c" * width for _ in range(height))
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)) \
        + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")
    return "data:image/png;base64," + base64.b64encode(png).decode()


# The website: another origin than Kuvert's, with the iframe Deploy/form.html suggests.
snippet = open(args.form, encoding="utf-8").read()
iframe = re.search(r"<iframe[^>]*>\s*</iframe>", snippet, re.S)
check(iframe, "Deploy/form.html suggests no iframe")
iframe = iframe.group(0).replace("https://news.example.se", args.base).replace("list=news", f"list={args.list}")
site_dir = tempfile.mkdtemp()
with open(os.path.join(site_dir, "index.html"), "w", encoding="utf-8") as page:
    page.write('<!doctype html><html lang="sv"><head><meta charset="utf-8">'
               '<meta name="viewport" content="width=device-width, initial-scale=1"><title>Föreningen</title>'
               '<style>body{font-family:system-ui,sans-serif;max-width:36rem;margin:2rem auto;padding:0 1rem;line-height:1.5}</style>'
               '</head><body><h1>Föreningen</h1><p>Få våra nyheter med e-post.</p>' + iframe
               + '<p>Sidfot på webbplatsen.</p></body></html>')


class Quiet(http.server.SimpleHTTPRequestHandler):
    def __init__(self, *a, **k):
        super().__init__(*a, directory=site_dir, **k)

    def log_message(self, *a):
        pass


site = http.server.ThreadingHTTPServer(("127.0.0.1", int(args.site_port)), Quiet)
threading.Thread(target=site.serve_forever, daemon=True).start()
site_url = f"http://127.0.0.1:{args.site_port}/index.html"

driver = browser("sv-SE")
try:
    # 1. The form in the frame fits at phone and desktop widths, with the name field.
    for width_name, size in (("phone", PHONE), ("desktop", DESKTOP)):
        driver.set_window_size(*size)
        driver.get(site_url)
        driver.switch_to.frame(driver.find_element(By.TAG_NAME, "iframe"))
        try:
            driver.find_element(By.ID, "email")
            driver.find_element(By.ID, "name")
        except NoSuchElementException:
            raise Failure(f"the framed form has no email or name field at {width_name} width: "
                          + re.sub(r"\s+", " ", driver.page_source)[:300])
        check(driver.execute_script("return document.documentElement.lang") == "sv", "the framed form is not Swedish")
        steps.append({"step": f"form-{width_name}", "size": fits(driver, f"the form at {width_name} width")})
        shot(driver, f"frame-1-form-{width_name}", size)

    # 2. An address Kuvert refuses: the error page, with the form again, in the frame.
    driver.set_window_size(*PHONE)
    driver.get(site_url)
    driver.switch_to.frame(driver.find_element(By.TAG_NAME, "iframe"))
    driver.find_element(By.ID, "email").send_keys("marta..svensson@example.se")
    driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    h1(driver, "Kontrollera formuläret")
    check(driver.find_elements(By.ID, "email"), "the error page in the frame offers no form")
    steps.append({"step": "error-phone", "size": fits(driver, "the error page")})
    shot(driver, "frame-2-error-phone", PHONE)

    # 3. Corrected, from the error page's own form: "check your inbox", in the frame.
    driver.switch_to.frame(driver.find_element(By.TAG_NAME, "iframe"))
    field = driver.find_element(By.ID, "email")
    field.clear()
    field.send_keys("marta.svensson@example.se")
    driver.find_element(By.ID, "name").send_keys("Märta")
    driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    h1(driver, "Titta i din inkorg")
    steps.append({"step": "thanks-phone", "size": fits(driver, "the thanks page")})
    shot(driver, "frame-3-thanks-phone", PHONE)
    driver.switch_to.default_content()
    check(driver.current_url == site_url, f"the website itself navigated away: {driver.current_url}")

    # 4. The confirmation mail on a phone; then confirm, so a newsletter comes.
    confirmation = mails(1)[0]
    check(confirmation["To"] == "marta.svensson@example.se", f"mail to {confirmation['To']}")
    no_sideways_scroll(driver, confirmation.get_body(("html",)).get_content(), "mail-1-confirmation-phone")
    link = re.findall(re.escape(args.base) + r"/confirm/[A-Za-z0-9_.-]+", confirmation.get_body(("plain",)).get_content())
    check(link, "no confirm link in the mail")
    driver.set_window_size(*DESKTOP)
    driver.get(link[0])
    h1(driver, "Bekräfta")
    box = driver.find_elements(By.NAME, "accept_terms")
    if box and box[0].get_attribute("type") == "checkbox":
        box[0].click()
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    h1(driver, "Välkommen")

    # The welcome mail, a consent receipt, fits a phone too; it goes before the newsletter is queued.
    welcome = mails(2)[1]
    check(str(welcome["Subject"]).startswith("Välkommen: du prenumererar på"), f"welcome subject {welcome['Subject']}")
    no_sideways_scroll(driver, welcome.get_body(("html",)).get_content(), "mail-4-welcome-phone")

    # 5. A newsletter with what overflows phones: nothing scrolls sideways.
    body = tempfile.NamedTemporaryFile("w", suffix=".md", delete=False, encoding="utf-8")
    body.write("# Höstnytt\n\n![Karta över området](" + wide_png() + ")\n\n"
               "Läs mer på https://example.se/" + "arsmote-" * 30 + "\n\n"
               "```\n" + "kod " * 80 + "\n```\n\n"
               "| " + " | ".join(f"Kolumn {i}" for i in range(14)) + " |\n"
               "| " + " | ".join("---" for _ in range(14)) + " |\n"
               "| " + " | ".join(f"värde {i}" for i in range(14)) + " |\n")
    body.close()
    campaign = kuvert("campaign", "create", "--list", args.list, "--subject", "Höstnytt", "--body", body.name)
    kuvert("campaign", "send", campaign)
    newsletter = mails(3)[2]
    check(newsletter["To"] == "marta.svensson@example.se", f"newsletter to {newsletter['To']}")
    no_sideways_scroll(driver, newsletter.get_body(("html",)).get_content(), "mail-2-newsletter-phone")

    # 6. The privacy link's mail, asked for on /privacy as a person would.
    driver.set_window_size(*PHONE)
    driver.get(args.base + "/privacy")
    driver.find_element(By.ID, "email").send_keys("marta.svensson@example.se")
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    privacy = mails(4)[3]
    check(privacy["To"] == "marta.svensson@example.se", f"privacy mail to {privacy['To']}")
    no_sideways_scroll(driver, privacy.get_body(("html",)).get_content(), "mail-3-privacy-phone")
    print(json.dumps({"ok": True, "steps": steps}))
except Failure as failure:
    path = os.path.join(tempfile.gettempdir(), "kuvert-frame-failure.png")
    driver.switch_to.default_content()
    driver.save_screenshot(path)
    print(json.dumps({"ok": False, "failure": str(failure), "screenshot": path, "steps": steps}))
    sys.exit(1)
finally:
    driver.quit()
    site.shutdown()
