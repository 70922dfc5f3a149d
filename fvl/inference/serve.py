"""``fvl serve <model>``: a web demo (Gradio, the ``web`` extra) to upload an image, ask, and watch the answer.

The page keeps the conversation: every question after the first is asked with the earlier questions and answers
in the prompt, as ``fvl chat`` does (:class:`~fvl.inference.session.ChatModel`); a new image or "New conversation"
starts over. Uploaded files go through the data pipeline's image decoder, so the page answers exactly what
``fvl chat --image`` answers for the same file and question. Requests are queued and answered one at a time
(one model). ``--host 0.0.0.0`` serves other machines too (there is no login: only on a network you trust).
"""

from __future__ import annotations

import argparse
import html
import importlib.util
import os
import sys
import time
from collections.abc import Iterator

from fvl.inference.options import add_decoding_arguments, add_model_arguments, bounded, parse_command
from fvl.usage import UsageError

# Small images (the demo's are 64 px) fill the image box instead of showing as a thumbnail.
PAGE_CSS = "#fvl-image img { width: 100%; height: 100%; object-fit: contain; image-rendering: pixelated; }"
EMPTY_REPLY = "(an empty reply: the model ended its answer at once)"
WEB_EXTRA_HINT = "fvl serve needs Gradio, the web extra: pip install -e '.[web]' (or pip install gradio)"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fvl serve", description="A web demo: upload an image, ask, see the answer.")
    add_model_arguments(parser)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine)")
    parser.add_argument("--port", type=bounded(int, 1, 65535), default=7860, help="port (default 7860)")
    add_decoding_arguments(parser)
    return parser


def build_app(chat, title: str, details: list[str]):
    """The Gradio page answering with ``chat`` (a :class:`~fvl.inference.session.ChatModel`)."""
    import gradio as gr

    from fvl.inference.loading import open_image
    from fvl.inference.session import Conversation, ConversationError

    def ask(question: str, image_path: str | None, history: list, state: tuple | None) -> Iterator:
        """Stream the answer into the chat; ``state`` is (the image file the conversation is about, Conversation)."""
        question = (question or "").strip()
        if not question:
            yield question, history, state, "Type a question first."
            return
        about, conversation = state or (None, None)
        shown = history
        try:
            if conversation is None or about != image_path:  # a new image: a new conversation, whatever came first
                conversation, history = Conversation(None if image_path is None else open_image(image_path)), []
            pieces = chat.stream(conversation, question)
        except (UsageError, ConversationError) as error:
            yield question, shown, state, f"**Not asked:** {error}"
            return
        began, reply, state = time.perf_counter(), "", (image_path, conversation)
        history = [*history, {"role": "user", "content": question}]
        yield "", [*history, {"role": "assistant", "content": reply}], state, "Answering…"
        for piece in pieces:
            reply += piece
            yield "", [*history, {"role": "assistant", "content": reply}], state, "Answering…"
        answer = conversation.turns[-1].content or EMPTY_REPLY
        status = f"Answered in {time.perf_counter() - began:.1f} s."
        yield "", [*history, {"role": "assistant", "content": answer}], state, status

    def start_over() -> tuple[list, None, str]:
        return [], None, "New conversation."

    def new_image(image_path: str | None, history: list, state: tuple | None) -> tuple:
        if state is not None and state[0] == image_path:  # a question about this image was quicker than this event
            return history, state, gr.skip()
        return start_over()

    with gr.Blocks(title=title, analytics_enabled=False) as app:
        gr.Markdown(f"## {title}\n" + "  \n".join(html.escape(line) for line in details))
        conversation = gr.State(None)  # (image file, Conversation)
        with gr.Row():
            with gr.Column(scale=2):
                image = gr.Image(
                    type="filepath", label="Image", elem_id="fvl-image", sources=["upload", "clipboard"], height=360
                )
            with gr.Column(scale=3):
                chatbot = gr.Chatbot(label="Conversation", elem_id="fvl-chat", render_markdown=False, height=360)
                question = gr.Textbox(label="Question", elem_id="fvl-question", placeholder="What is in the image?")
                with gr.Row():
                    send = gr.Button("Ask", variant="primary", elem_id="fvl-send")
                    clear = gr.Button("New conversation", elem_id="fvl-clear")
                status = gr.Markdown("Upload an image (or not), then ask.", elem_id="fvl-status")
        # a question sent while an answer is still being finished is asked right after it, not dropped
        asked = {"fn": ask, "inputs": [question, image, chatbot, conversation], "trigger_mode": "always_last"}
        outputs = [question, chatbot, conversation, status]
        send.click(**asked, outputs=outputs)
        question.submit(**asked, outputs=outputs)
        clear.click(start_over, outputs=[chatbot, conversation, status])
        chatbot.clear(start_over, outputs=[chatbot, conversation, status])  # its own trash button
        image.change(new_image, inputs=[image, chatbot, conversation], outputs=[chatbot, conversation, status])
    return app.queue(default_concurrency_limit=1)


def launch(app, host: str, port: int) -> str:
    """Start serving ``app`` without blocking; returns the local URL."""
    try:
        _, url, _ = app.launch(
            server_name=host, server_port=port, prevent_thread_lock=True, quiet=True, share=False, css=PAGE_CSS
        )
    except OSError as error:
        raise UsageError(f"cannot listen on {host}:{port} ({error}); choose another --port or --host.") from None
    return url


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, options = parse_command(parser, argv)
    if importlib.util.find_spec("gradio") is None:
        print(f"fvl serve: {WEB_EXTRA_HINT}.", file=sys.stderr)
        return 2
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    try:
        from fvl.inference.loading import load_from_args
        from fvl.inference.session import ChatModel

        predictor, suffix, details = load_from_args(args, options)
        app = build_app(ChatModel(predictor, suffix), "fvl: Florence-VL demo", details)
        url = launch(app, args.host, args.port)
    except UsageError as error:
        print(f"fvl serve: {error}", file=sys.stderr)
        return 2
    print(f"fvl serve: open {url} in a browser (Ctrl-C stops)", flush=True)
    try:
        app.block_thread()
    except KeyboardInterrupt:
        pass
    finally:
        app.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
