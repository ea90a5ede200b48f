"""Consent through change in headless Chromium, in Swedish, at desktop and
phone widths: an embedded form offering two lists -> both ticked -> one
confirmation mail naming both -> its page, a box per list, none ticked -> one
accepted -> welcome -> the privacy page from a privacy link -> a new address ->
the link mailed to it -> its page -> changed, and the old address told.

Every page passes the checks of `browsing.inspect` (Swedish, labelled fields,
no sideways scrolling on a 360 px phone, WCAG AA contrast) and is saved as a
phone and a desktop screenshot. Started
by BrowserJourneyTests, which starts the server with the lists `nyheter` and
`evenemang` and checks the store afterwards.

Usage: changes.py --base URL --mail-dir DIR --kuvert PATH --form FILE --shots DIR
"""
import argparse
import json
import os
import re
import sys
import tempfile
import time

from selenium.webdriver.common.by import By

import browsing
from browsing import Failure, browser, check, h1

parser = argparse.ArgumentParser()
for name in ("base", "mail-dir", "kuvert", "form", "shots"):
    parser.add_argument("--" + name, required=True)
args = parser.parse_args()
steps = []


def inspect(driver, name):
    browsing.inspect(driver, name, args.shots)
    steps.append(name)


def link_in(message, route):
    text = message.get_body(("plain",)).get_content()
    found = re.findall(re.escape(args.base) + route + r"[A-Za-z0-9_.-]+", text)
    check(found, f"no {route} link in the mail")
    return found[0]


def mails(count):
    return browsing.mails(args.mail_dir, count)


driver = browser("sv-SE", "sv-SE,sv")
try:
    # 1. The embeddable form offering two lists: a box each, none ticked.
    driver.get(args.base + "/form?list=nyheter&list=evenemang&locale=sv")
    boxes = driver.find_elements(By.CSS_SELECTOR, "input[type=checkbox][name=list]")
    check([b.get_attribute("value") for b in boxes] == ["nyheter", "evenemang"], "the form does not offer both lists")
    check(not any(b.is_selected() for b in boxes), "a list is ticked before the person ticks it")
    inspect(driver, "9-form-two-lists")
    driver.find_element(By.ID, "email").send_keys("karin@example.se")
    for box in boxes:
        box.click()
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    h1(driver, "Titta i din inkorg")

    # 2. One mail names both; its page has a box per list, none ticked.
    confirmation = mails(1)[0]
    check("Nyheter och Evenemang" in str(confirmation["Subject"]), f"subject {confirmation['Subject']}")
    driver.get(link_in(confirmation, "/confirm/"))
    h1(driver, "Bekräfta dina prenumerationer")
    boxes = driver.find_elements(By.CSS_SELECTOR, "input[type=checkbox][name=accept_terms]")
    check(len(boxes) == 2 and not any(b.is_selected() for b in boxes), "not one unticked box per list")
    inspect(driver, "10-confirm-two-lists")
    boxes[1].click()
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    h1(driver, "Välkommen till Evenemang")
    inspect(driver, "11-welcome-one-of-two")
    welcome = mails(2)[1]
    check("Evenemang" in str(welcome["Subject"]) and "Nyheter" not in str(welcome["Subject"]), f"welcome {welcome['Subject']}")

    # 3. A privacy link, and a new address from its page.
    driver.get(args.base + "/privacy")
    driver.find_element(By.ID, "email").send_keys("karin@example.se")
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    privacy = mails(3)[2]
    driver.get(link_in(privacy, "/privacy/"))
    h1(driver, "Det här har vi om karin@example.se")
    driver.find_element(By.ID, "new-email").send_keys("karin.ny@example.se")
    driver.find_element(By.XPATH, "//button[normalize-space()='Skicka en bekräftelselänk dit']").click()
    # The answer is a page with the same heading: wait for its words, not for the heading.
    deadline = time.time() + 10
    while "har vi skickat en länk dit" not in browsing.main_text(driver):
        check(time.time() < deadline, "no word that a link went")
        time.sleep(0.1)
    inspect(driver, "12-privacy-new-address")

    # 4. The link at the new address: what will change, then changed; the old address told.
    link = mails(4)[3]
    check(link["To"] == "karin.ny@example.se", f"the link went to {link['To']}")
    driver.get(link_in(link, "/address/"))
    h1(driver, "Bekräfta din nya adress")
    check("karin.ny@example.se" in driver.find_element(By.TAG_NAME, "main").text, "the page does not name the new address")
    inspect(driver, "13-confirm-new-address")
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    h1(driver, "Din adress är bytt")
    notice = mails(5)[4]
    check(notice["To"] == "karin@example.se", f"the notice went to {notice['To']}")

    # 5. The editor asks again under new terms; the request, its page, one button, accepted.
    folder = tempfile.mkdtemp()
    new_terms = os.path.join(folder, "villkor.md")
    summary = os.path.join(folder, "andringar.md")
    open(new_terms, "w").write("# Villkor för evenemang\n\nInbjudningar några gånger om året. Vi räknar nu hur många som öppnar dem.")
    open(summary, "w").write("Vi **räknar nu öppningar** av inbjudningarna.")
    browsing.kuvert(args.kuvert, "lists", "terms", "evenemang", "--file", new_terms, "--summary", summary, "--reconsent", "--deadline", "30d")
    request = mails(6)[5]
    check(request["To"] == "karin.ny@example.se", f"the request went to {request['To']}")
    check(str(request["Subject"]).startswith("Godkänn de nya villkoren för Evenemang senast"), f"subject {request['Subject']}")
    driver.get(link_in(request, "/reconsent/"))
    h1(driver, "Nya villkor för Evenemang")
    check("hur många som öppnar dem" in driver.find_element(By.CSS_SELECTOR, "section.terms").text, "the page does not show the new text")
    inspect(driver, "14-reconsent")
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    h1(driver, "Tack: du har godkänt de nya villkoren")
    inspect(driver, "15-reconsent-accepted")
    print(json.dumps({"ok": True, "steps": steps}))
except Failure as failure:
    shot = os.path.join(tempfile.gettempdir(), "kuvert-changes-failure.png")
    driver.save_screenshot(shot)
    print(json.dumps({"ok": False, "failure": str(failure), "screenshot": shot, "steps": steps}))
    sys.exit(1)
finally:
    driver.quit()
