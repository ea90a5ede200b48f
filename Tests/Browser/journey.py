"""A subscriber's whole journey in headless Chromium, driven through Selenium.

A website's page with Kuvert's form snippet -> submit -> "check your inbox" ->
the confirmation mail (read from the SMTP test server's directory) -> its link
-> the terms -> the accepting button, by keyboard only -> welcome -> the welcome
mail (a consent receipt) -> a newsletter sent with the kuvert command -> its
manage link -> a corrected name saved -> its unsubscribe link -> the button ->
unsubscribed.

The browser prefers English and the form asks for Swedish: every page must be
Swedish, following the subscription. Every step asserts what the page shows, that nothing scrolls sideways on a
360 px phone, that form fields have labels, and that text has enough contrast
(WCAG AA, 4.5:1); each step is saved as a phone and a desktop screenshot.
Started by the Swift test BrowserJourneyTests, which starts the server and the
SMTP test server and checks the store afterwards.

Usage: journey.py --base URL --mail-dir DIR --kuvert PATH --list SLUG --form FILE --shots DIR
(the kuvert command finds its store through KUVERT_* in the environment)
"""
import argparse
import json
import os
import re
import sys
import tempfile
import time

from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

import browsing
from browsing import Failure, browser, check, h1

parser = argparse.ArgumentParser()
for name in ("base", "mail-dir", "kuvert", "list", "form", "shots"):
    parser.add_argument("--" + name, required=True)
args = parser.parse_args()
os.makedirs(args.shots, exist_ok=True)
steps = []




def inspect(driver, name):
    browsing.inspect(driver, name, args.shots)
    steps.append({"step": name, "title": driver.title, "url": re.sub(r"/[A-Za-z0-9_-]{20,}\.[A-Za-z0-9_-]+", "/TOKEN", driver.current_url)})


def link_in(message, route):
    text = message.get_body(("plain",)).get_content()
    found = re.findall(re.escape(args.base) + route + r"[A-Za-z0-9_.-]+", text)
    check(found, f"no {route} link in the mail")
    return found[0]


def mails(count):
    return browsing.mails(args.mail_dir, count)


def kuvert(*arguments):
    return browsing.kuvert(args.kuvert, *arguments)


# The browser prefers English; the form asks for Swedish. Every Kuvert page
# must follow the subscription's language, not the browser's.
driver = browser("en-US", "en-US,en")
try:
    # 1. A website's page with the form snippet from Deploy/form.html, posting to this Kuvert.
    snippet = open(args.form, encoding="utf-8").read()
    snippet = snippet.replace("https://news.example.se", args.base).replace('value="news"', f'value="{args.list}"')
    site = tempfile.NamedTemporaryFile("w", suffix=".html", delete=False, encoding="utf-8")
    site.write('<!doctype html><html lang="sv"><head><meta charset="utf-8">'
               '<meta name="viewport" content="width=device-width, initial-scale=1"><title>Föreningen</title>'
               '<style>body{font-family:system-ui,sans-serif;max-width:36rem;margin:2rem auto;padding:0 1rem;line-height:1.5}'
               'input{display:block;font:inherit;padding:.5rem;margin:.25rem 0 .75rem;width:100%;max-width:24rem;box-sizing:border-box}'
               'button{font:inherit;padding:.6rem 1.2rem}</style></head>'
               '<body><h1>Föreningen</h1><p>Få våra nyheter med e-post.</p>' + snippet + '</body></html>')
    site.close()
    driver.get("file://" + site.name)
    inspect(driver, "1-website-form")

    driver.find_element(By.ID, "kuvert-email").send_keys("marta.svensson@example.se")
    driver.find_element(By.ID, "kuvert-name").send_keys("Märta")
    driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()

    # 2. Kuvert's "check your inbox" page.
    h1(driver, "Titta i din inkorg")
    inspect(driver, "2-check-inbox")

    # 3. The confirmation mail and its link: the terms, nothing changed yet.
    confirmation = mails(1)[0]
    check(confirmation["To"] == "marta.svensson@example.se", f"mail to {confirmation['To']}")
    check(str(confirmation["Subject"]).startswith("Bekräfta din prenumeration på"), f"subject {confirmation['Subject']}")
    check("Märta" not in confirmation.get_body(("plain",)).get_content(), "the confirmation mail echoes the typed name")
    driver.get(link_in(confirmation, "/confirm/"))
    h1(driver, "Bekräfta din prenumeration på")
    check("Villkor" in driver.find_element(By.CSS_SELECTOR, ".terms").text, "the terms are not shown")
    check(not driver.find_elements(By.CSS_SELECTOR, "input[type=checkbox]"), "a box to tick: confirming is one step")
    button = driver.find_element(By.CSS_SELECTOR, "form button[type=submit]")
    check(button.text.startswith("Jag godkänner villkoren och prenumererar"), f"the button says {button.text!r}")
    inspect(driver, "3-terms")

    # 4. Keyboard only, in focus order: the terms box, then the button that accepts.
    body = driver.find_element(By.TAG_NAME, "body")
    body.send_keys(Keys.TAB)
    order = []
    for _ in range(2):
        active = driver.switch_to.active_element
        order.append(active.get_attribute("name") or active.tag_name)
        if active.tag_name == "button":
            break
        active.send_keys(Keys.TAB)
    check(order == ["section", "button"], f"focus order {order}")
    driver.switch_to.active_element.send_keys(Keys.ENTER)
    h1(driver, "Välkommen till")
    inspect(driver, "4-welcome")

    # The welcome mail: a receipt with the version accepted, its text's link, the person's links.
    welcome = mails(2)[1]
    check(str(welcome["Subject"]).startswith("Välkommen: du prenumererar på"), f"welcome subject {welcome['Subject']}")
    receipt = welcome.get_body(("plain",)).get_content()
    check("version 1" in receipt and "/terms/" + args.list + "/1" in receipt, "the receipt names no terms version")
    terms = link_in(welcome, "/terms/")
    driver.get(terms)
    h1(driver)
    check("SHA-256" in driver.find_element(By.TAG_NAME, "main").text, "the terms page shows no checksum")

    # 5. A newsletter, and the manage and unsubscribe links in it (the latter the same as its List-Unsubscribe header).
    body_file = tempfile.NamedTemporaryFile("w", suffix=".md", delete=False, encoding="utf-8")
    body_file.write("# Höstnytt\n\nÅrsmötet är den 3 december. [Läs mer](https://example.se/arsmote)\n")
    body_file.close()
    campaign = kuvert("campaign", "create", "--list", args.list, "--subject", "Höstnytt", "--body", body_file.name)
    kuvert("campaign", "send", campaign)
    newsletter = mails(3)[2]
    check(newsletter["To"] == "marta.svensson@example.se", f"newsletter to {newsletter['To']}")
    check("Hej Märta" in newsletter.get_body(("plain",)).get_content(), "the newsletter does not greet by name")
    unsubscribe = link_in(newsletter, "/unsubscribe/")
    check(f"<{unsubscribe}>" in str(newsletter["List-Unsubscribe"]), "List-Unsubscribe differs from the visible link")
    check(newsletter["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click", "no one-click header")

    # The person's own page: lists, name and language, no address on it.
    driver.get(link_in(newsletter, "/manage/"))
    h1(driver, "Dina prenumerationer")
    check("marta.svensson@example.se" not in driver.page_source, "the manage page shows the address")
    box = driver.find_element(By.CSS_SELECTOR, f"input[name=list][value={args.list}]")
    check(box.is_selected(), "the list is not ticked on the manage page")
    inspect(driver, "5-manage")
    name = driver.find_element(By.ID, "name")
    check(name.get_attribute("value") == "Märta", f"the name field says {name.get_attribute('value')!r}")
    name.clear()
    name.send_keys("Märta Svensson")
    driver.find_element(By.XPATH, "//button[normalize-space()='Spara']").click()
    h1(driver, "Dina prenumerationer")
    check("Dina ändringar är sparade" in driver.find_element(By.TAG_NAME, "main").text, "no word that the change was saved")
    inspect(driver, "6-manage-saved")

    driver.get(unsubscribe)
    h1(driver, "Avsluta prenumerationen på")
    inspect(driver, "7-unsubscribe")

    # 8. The button: unsubscribed at once.
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    h1(driver, "Du prenumererar inte längre på")
    inspect(driver, "8-unsubscribed")
    print(json.dumps({"ok": True, "steps": steps}))
except Failure as failure:
    shot = os.path.join(tempfile.gettempdir(), "kuvert-journey-failure.png")
    driver.save_screenshot(shot)
    print(json.dumps({"ok": False, "failure": str(failure), "screenshot": shot, "steps": steps}))
    sys.exit(1)
finally:
    driver.quit()
