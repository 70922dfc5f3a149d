"""``fvl serve`` in a real headless browser (Debian's Chromium through Playwright): upload, ask, read the answer.

Skipped without the ``web`` extra (Gradio), Playwright or /usr/bin/chromium. The page must show, token for token,
what the Python API answers for the same image and question, and keep the conversation for the next question.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from fvl.data.images import load_image
from fvl.inference.serve import build_app, launch
from fvl.inference.session import ChatModel, Conversation

CHROMIUM = Path("/usr/bin/chromium")
FIRST, SECOND = "What colour is the shape?", "And how big is it?"


def visible(text: str) -> str:
    """Text as a page shows it: control characters dropped, runs of whitespace one space."""
    return " ".join("".join(ch for ch in text if ch.isprintable() or ch.isspace()).split())


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def page_url(predictor):
    pytest.importorskip("gradio")
    app = build_app(ChatModel(predictor), "fvl test demo", ["model: tiny <image> test"])
    url = launch(app, "127.0.0.1", free_port())
    yield url
    app.close()


@pytest.fixture
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    if not CHROMIUM.is_file():
        pytest.skip(f"no {CHROMIUM} (apt-get install -y chromium)")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"])
        yield browser
        browser.close()


def ask(page, question: str, answers_before: int) -> str:
    page.fill("#fvl-question textarea", question)
    page.click("#fvl-send")
    page.wait_for_function(
        f"document.querySelectorAll('#fvl-chat [data-testid=bot]').length > {answers_before} && "
        "document.querySelector('#fvl-status').innerText.includes('Answered')",
        timeout=60_000,
    )
    return page.locator("#fvl-chat [data-testid=bot]").all_inner_texts()[-1]


@pytest.mark.slow
def test_the_page_answers_as_the_python_api(browser, page_url, predictor, images, tmp_path):
    chat = ChatModel(predictor)
    conversation = Conversation(load_image(images / "red.png"))
    expected = [chat.reply(conversation, FIRST), chat.reply(conversation, SECOND)]
    assert expected[0] and expected[0] != expected[1]

    page = browser.new_page(viewport={"width": 1200, "height": 820})
    page.goto(page_url)
    page.wait_for_selector("#fvl-question textarea")
    assert "<image>" in page.inner_text("body")  # startup details are shown as text, not swallowed as HTML
    page.set_input_files("#fvl-image input[type=file]", str(images / "red.png"))
    page.wait_for_selector("#fvl-image img")
    first = ask(page, FIRST, 0)
    second = ask(page, SECOND, 1)  # the conversation is kept: the first exchange is in this prompt
    page.screenshot(path=str(tmp_path / "web_demo.png"))
    assert visible(first) == visible(expected[0])
    assert visible(second) == visible(expected[1])
    assert page.locator("#fvl-chat [data-testid=user]").all_inner_texts() == [FIRST, SECOND]
    assert (tmp_path / "web_demo.png").stat().st_size > 10_000

    page.click("#fvl-clear")
    page.wait_for_function("document.querySelectorAll('#fvl-chat [data-testid=bot]').length == 0")
    assert visible(ask(page, FIRST, 0)) == visible(expected[0])  # a new conversation answers as the first did

    blue = chat.reply(Conversation(load_image(images / "blue.png")), FIRST)
    page.set_input_files("#fvl-image input[type=file]", str(images / "blue.png"))  # a new image: a new conversation
    page.wait_for_function("document.querySelectorAll('#fvl-chat [data-testid=bot]').length == 0")
    assert visible(ask(page, FIRST, 0)) == visible(blue) != visible(expected[0])
    assert page.locator("#fvl-chat [data-testid=user]").all_inner_texts() == [FIRST]
