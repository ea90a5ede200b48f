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


def kuvert(executable, *arguments):
    result = subprocess.run([executable, *arguments], capture_output=True, text=True)
    check(result.returncode == 0, f"kuvert {' '.join(arguments)}: {result.stderr.strip()}")
    return result.stdout.strip()
