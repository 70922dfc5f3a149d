"""``fvl chat``: one question through the CLI answers as evaluation does; a session keeps the conversation."""

from __future__ import annotations

import io

import pytest

from fvl.commands import main as fvl
from fvl.data.images import load_image
from fvl.eval.sample import EvalSample
from fvl.inference.chat import main as chat_main

MAX = ["--max-new-tokens", "8"]


def test_one_question_prints_the_evaluation_reply(model_dir, predictor, images, capsys):
    image = images / "green.png"
    assert fvl(["chat", str(model_dir), "--image", str(image), "What colour is the shape?", *MAX]) == 0
    out, err = capsys.readouterr()
    expected = predictor([EvalSample("x", load_image(image), "What colour is the shape?")])[0]
    assert out == expected + "\n"
    for shown in (f"model: {model_dir}", "images: 64x64 px, 5 image tokens", "format chat", "decoding: greedy"):
        assert shown in err


def test_a_session_keeps_the_conversation(model_dir, predictor, images, capsys, monkeypatch):
    lines = ["What colour is it?", "/history", "And the size?", "/reset", "What colour is it?", "/quit", "ignored"]
    monkeypatch.setattr("sys.stdin", io.StringIO("\n".join(lines) + "\n"))
    status = chat_main([str(model_dir), "--image", str(images / "red.png"), "--show-prompt", *MAX])
    out, err = capsys.readouterr()
    assert status == 0
    first = predictor([EvalSample("x", load_image(images / "red.png"), "What colour is it?")])[0]
    replies = [line.split("fvl> ", 1)[1] for line in out.splitlines() if line.startswith("you> ") and "fvl> " in line]
    assert first and replies[0] == first and replies[2] == first  # after /reset: the first answer again
    prompts = err.split("--- prompt ---")[1:]
    assert len(prompts) == 3
    assert "What colour is it?" in prompts[1] and first in prompts[1] and "And the size?" in prompts[1]
    assert first not in prompts[2] and "And the size?" not in prompts[2]
    assert all(prompt.count("<image>") == 1 for prompt in prompts)
    assert f"you> What colour is it?\nfvl> {first}\n" in out  # /history


def test_a_session_ends_at_eof_and_survives_bad_commands(model_dir, images, capsys, monkeypatch):
    lines = ["/image " + str(images / "missing.png"), "/frobnicate", "", f"/image {images / 'blue.png'}", "Hi?"]
    monkeypatch.setattr("sys.stdin", io.StringIO("\n".join(lines)))
    assert chat_main([str(model_dir), *MAX]) == 0
    out, err = capsys.readouterr()
    assert "missing image file" in err and "missing.png" in err
    assert "unknown command '/frobnicate'" in err
    assert "new conversation about" in err
    assert out.count("fvl> ") == 1


def test_sampling_with_a_seed_repeats_itself(model_dir, images, capsys):
    args = [str(model_dir), "--image", str(images / "red.png"), "Colour?", "--do-sample", "--seed", "4", *MAX]
    replies = []
    for _ in range(2):
        assert chat_main(args) == 0
        replies.append(capsys.readouterr().out)
    assert replies[0] == replies[1] and replies[0].strip()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["{tmp}/nothing", "Hi?"], "does not exist"),
        (["{tmp}", "Hi?"], "is not a model"),
        (["{model}", "--image", "{tmp}/missing.png", "Hi?"], "missing image file"),
        (["{model}", "--image", "{tmp}/corrupt.png", "Hi?"], "cannot decode image file"),
        (["{model}", "--device", "nonsense", "Hi?"], "is not a device"),
    ],
)
def test_user_mistakes_exit_2_naming_the_thing(model_dir, tmp_path, capsys, args, message):
    (tmp_path / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    argv = [arg.format(tmp=tmp_path, model=model_dir) for arg in args]
    assert chat_main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.startswith("fvl chat: ")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--temperature", "0.5"], "--temperature only apply to sampling; add --do-sample"),
        (["--do-sample", "--top-p", "1.5"], "outside (0.0, 1.0]"),
        (["--max-new-tokens", "0"], "outside [1, inf)"),
    ],
)
def test_bad_options_exit_2_before_loading(tmp_path, capsys, args, message):
    with pytest.raises(SystemExit) as exit_info:
        chat_main([str(tmp_path / "never-loaded"), "Hi?", *args])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_a_prompt_suffix_follows_every_question(model_dir, capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("Colour?\nSize?\n"))
    assert chat_main([str(model_dir), "--prompt-suffix", "\\nAnswer in one word.", "--show-prompt", *MAX]) == 0
    err = capsys.readouterr().err
    assert "prompt suffix: '\\nAnswer in one word.' after every question" in err
    second = err.split("--- prompt ---")[2]
    assert second.count("\nAnswer in one word.") == 2 and "Colour?\nAnswer in one word." in second


def test_the_trained_suffix_needs_one_recorded(model_dir, capsys):
    assert chat_main([str(model_dir), "--prompt-suffix", "trained", "Hi?"]) == 2
    assert "this model records no prompt suffix" in capsys.readouterr().err


class InterruptOnSecondPiece(io.StringIO):
    """stdout whose second write of a reply raises KeyboardInterrupt, as Ctrl-C while the reply streams."""

    def __init__(self) -> None:
        super().__init__()
        self.pieces = 0

    def write(self, text: str) -> int:
        if text and text != "\n" and not text.startswith(" ["):
            self.pieces += 1
            if self.pieces == 2:
                raise KeyboardInterrupt
        return super().write(text)


def test_ctrl_c_stops_a_reply_and_leaves_it_out(predictor, images):
    from fvl.inference.chat import ChatLoop
    from fvl.inference.session import ChatModel

    out = InterruptOnSecondPiece()
    loop = ChatLoop(ChatModel(predictor), load_image(images / "red.png"), False, out, io.StringIO())
    assert loop.answer("What colour?") == 130
    assert out.getvalue().endswith(" [stopped; left out of the conversation]\n")
    assert loop.conversation.turns == []
