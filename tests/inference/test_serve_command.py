"""``fvl serve`` refuses what it cannot serve with exit status 2 and the fix: no Gradio, no model, a taken port."""

from __future__ import annotations

import socket

import pytest

from fvl.inference import serve


def test_without_gradio_it_names_the_extra(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(serve.importlib.util, "find_spec", lambda name: None)
    assert serve.main([str(tmp_path)]) == 2
    assert "pip install -e '.[web]'" in capsys.readouterr().err


def test_not_a_model_exits_2(tmp_path, capsys):
    pytest.importorskip("gradio")
    assert serve.main([str(tmp_path)]) == 2
    assert "is not a model" in capsys.readouterr().err


def test_a_taken_port_is_refused(predictor):
    pytest.importorskip("gradio")
    from fvl.inference.session import ChatModel
    from fvl.usage import UsageError

    app = serve.build_app(ChatModel(predictor), "test", [])
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(UsageError, match="choose another --port"):
            serve.launch(app, "127.0.0.1", taken.getsockname()[1])
