"""``fvl chat <model> [question] [--image PATH]``: one answer, or an interactive multi-turn session.

With a question the reply is streamed to stdout and the command ends (what loaded goes to stderr, so
``answer=$(fvl chat model --image cat.png "What colour?")`` holds the reply only). Without one, questions are read
line by line from stdin, replies streamed as they are generated, and the conversation kept: each prompt holds every
earlier question and answer, the image in the first turn as training placed it. Session commands: ``/image PATH``
(a new image, a new conversation), ``/reset`` (a new conversation, same image), ``/history``, ``/help``, ``/quit``;
Ctrl-D ends, Ctrl-C stops a reply being written (it is then left out of the conversation) or, at the prompt, ends.
Greedy unless ``--do-sample``; ``--show-prompt`` prints each prompt as the model gets it, to stderr.
"""

from __future__ import annotations

import argparse
import sys
from typing import TextIO

from fvl.inference.options import add_decoding_arguments, add_model_arguments, parse_command
from fvl.usage import UsageError

SESSION_HELP = (
    "Type a question and press Enter. /image PATH: new image, new conversation · /reset: new conversation · "
    "/history: the conversation so far · /quit or Ctrl-D: end."
)
USER_PROMPT = "you> "
MODEL_PROMPT = "fvl> "


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fvl chat",
        description="Talk to a trained model: one question, or (without a question) an interactive session.",
        epilog=f"Interactive session: {SESSION_HELP}",
    )
    add_model_arguments(parser)
    parser.add_argument("question", nargs="?", help="answer this one question and exit (default: a session)")
    parser.add_argument("--image", metavar="PATH", help="the image the conversation is about (default: none)")
    parser.add_argument("--show-prompt", action="store_true", help="print each prompt as the model sees it (stderr)")
    add_decoding_arguments(parser)
    return parser


class ChatLoop:
    """One chat: a model, the conversation so far, and where replies and messages go."""

    def __init__(self, chat, image, show_prompt: bool, out: TextIO, err: TextIO) -> None:
        from fvl.inference.session import Conversation

        self.chat, self.out, self.err, self.show_prompt = chat, out, err, show_prompt
        self.conversation = Conversation(image)

    def answer(self, question: str, prefix: str = "") -> int:
        """Stream the reply to ``question`` after ``prefix``; the status: 0 answered, 2 refused, 130 stopped."""
        from fvl.inference.session import ConversationError

        try:
            if self.show_prompt:
                prompt = self.chat.render_prompt(self.conversation, question)
                print(f"--- prompt ---\n{prompt}\n---", file=self.err, flush=True)
            self.out.write(prefix)
            pieces, written = self.chat.stream(self.conversation, question), False
            try:
                for piece in pieces:
                    self.out.write(piece)
                    self.out.flush()
                    written = True
            except KeyboardInterrupt:
                pieces.close()
                print(" [stopped; left out of the conversation]", file=self.out, flush=True)
                return 130
        except ConversationError as error:
            print(f"fvl chat: {error}", file=self.err, flush=True)
            return 2
        print(file=self.out, flush=True)
        if not written:
            print("(an empty reply: the model ended its answer at once)", file=self.err, flush=True)
        return 0

    def command(self, line: str) -> bool:
        """Run a session command; False when the session should end."""
        from fvl.inference.loading import open_image
        from fvl.inference.session import Conversation

        name, _, argument = line.partition(" ")
        if name in ("/quit", "/exit"):
            return False
        if name == "/image":
            if not argument.strip():
                print("fvl chat: /image needs a path: /image photo.jpg", file=self.err)
                return True
            try:
                self.conversation = Conversation(open_image(argument.strip()))
            except UsageError as error:
                print(f"fvl chat: {error}", file=self.err)
                return True
            print(f"(new conversation about {argument.strip()})", file=self.err)
        elif name == "/reset":
            self.conversation = Conversation(self.conversation.image)
            print("(new conversation)", file=self.err)
        elif name == "/history":
            for turn in self.conversation.turns:
                print(f"{USER_PROMPT if turn.role == 'user' else MODEL_PROMPT}{turn.content}", file=self.out)
        elif name == "/help":
            print(SESSION_HELP, file=self.err)
        else:
            print(f"fvl chat: unknown command {name!r}. {SESSION_HELP}", file=self.err)
        return True

    def run(self, read=input) -> int:
        """Read questions until /quit, EOF or Ctrl-C at the prompt."""
        print(SESSION_HELP, file=self.err, flush=True)
        while True:
            try:
                line = read(USER_PROMPT).strip()
            except EOFError:
                print(file=self.out)
                return 0
            except KeyboardInterrupt:
                print(file=self.out)
                return 130
            if not line:
                continue
            if line.startswith("/"):
                if not self.command(line):
                    return 0
                continue
            self.answer(line, MODEL_PROMPT)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, options = parse_command(parser, argv)
    try:
        from fvl.inference.loading import load_from_args, open_image
        from fvl.inference.session import ChatModel

        image = None if args.image is None else open_image(args.image)  # before the model: a bad path fails fast
        predictor, suffix, _ = load_from_args(args, options)
    except UsageError as error:
        print(f"fvl chat: {error}", file=sys.stderr)
        return 2
    if args.image:
        print(f"image: {args.image}", file=sys.stderr)
    loop = ChatLoop(ChatModel(predictor, suffix), image, args.show_prompt, sys.stdout, sys.stderr)
    if args.question is not None:
        return loop.answer(args.question)
    if sys.stdin.isatty():
        try:
            import readline  # noqa: F401 — line editing and history for input()
        except ImportError:
            pass
    return loop.run()


if __name__ == "__main__":
    sys.exit(main())
