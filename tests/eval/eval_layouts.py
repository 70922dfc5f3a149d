"""Tiny copies of each registered benchmark in its hub column layout (imported as ``eval_layouts``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eval_hub_files import BLUE, GREEN, RED, first_row, png
from PIL import Image

SHORT = "\nAnswer the question using a single word or phrase."
LETTER = "\nAnswer with the option's letter from the given choices directly."


@dataclass
class Layout:
    """Files to write (relative path → columns), one reply per loaded sample, and what must come out."""

    files: dict[str, dict[str, list[Any]]]
    replies: list[str]
    expected: dict[str, float]
    prompts: dict[int, str]
    first_color: tuple[int, int, int] | None = RED
    extra: Callable[[Path], None] | None = None


def _vqa_answers(*answers: str) -> list[dict[str, Any]]:
    return [{"answer": answer, "answer_confidence": "yes", "answer_id": i} for i, answer in enumerate(answers, 1)]


VQAV2 = {
    "question_type": ["how many", "is the"],
    "multiple_choice_answer": ["2", "no"],
    "answers": [_vqa_answers(*["2"] * 10), _vqa_answers(*["yes"] * 2, *["no"] * 8)],
    "image_id": [1, 2],
    "answer_type": ["number", "yes/no"],
    "question_id": [11, 12],
    "question": ["How many dogs?", "Is it red?"],
    "image": [png(RED), png(BLUE)],
}
DOCVQA = {
    "questionId": [1, 2],
    "question": ["What is the date?", "Who signed?"],
    "question_types": [["form"], ["form"]],
    "image": [png(RED), png(BLUE)],
    "docId": [7, 8],
    "answers": [["abcd"], ["abcd", "wxyz"]],
}
INFOVQA = {
    "questionId": [1, 2],
    "question": ["What share?", "Which continent?"],
    "answers": [["12%"], ["asia"]],
    "answer_type": [["single span"], ["single span"]],
    "image": [png(RED), png(BLUE)],
}
MMBENCH = {
    "index": [1, 1000001, 2],
    "question": ["What is it?", "What is it?", "Which color?"],
    "hint": [None, None, "Look closely."],
    "A": ["cat", "dog", "red"],
    "B": ["dog", "bird", "blue"],
    "C": ["bird", "cat", "green"],
    "D": [None, None, "black"],
    "answer": ["A", "C", "B"],
    "category": ["animals", "animals", "colors"],
    "image": [png(RED), png(RED), png(BLUE)],
    "source": ["s", "s", "s"],
    "L2-category": ["perception"] * 3,
    "comment": [None] * 3,
    "split": ["dev"] * 3,
}
SCIENCEQA = {
    "image": [png(RED), png(BLUE)],
    "question": ["Which is a mammal?", "Which is hot?"],
    "choices": [["frog", "whale"], ["ice", "fire", "snow"]],
    "answer": [1, 0],
    "hint": ["", "Think of temperature."],
    "task": ["closed choice"] * 2,
    "subject": ["natural science"] * 2,
}
MMMU_MC = {
    "id": ["validation_Accounting_1"],
    "question": ["<image 1> What is the balance?"],
    "options": ["['$1,000', '$2,000']"],
    "explanation": [""],
    "image_1": [png(RED)],
    "image_2": [None],
    "img_type": ["['Tables']"],
    "answer": ["B"],
    "topic_difficulty": ["Easy"],
    "question_type": ["multiple-choice"],
    "subfield": ["Financial Accounting"],
}
MMMU_OPEN = {
    **MMMU_MC,
    "id": ["validation_Art_Theory_2"],
    "question": ["How many figures are in <image 1>?"],
    "options": ["[]"],
    "image_1": [png(BLUE)],
    "answer": ["['24', '25']"],
    "question_type": ["open"],
}
MMSTAR_OPTIONS = "\nOptions: A: apple, B: banana, C: sky, D: grass"
CVBENCH_2D = {
    "idx": [0, 1],
    "type": ["2D", "2D"],
    "task": ["Count", "Relation"],
    "image": [png(RED), png(BLUE)],
    "question": ["How many cars?", "Where is the cup?"],
    "choices": [["3", "2"], ["left", "right"]],
    "answer": ["(A)", "(B)"],
    "prompt": [
        "How many cars? Select from the following choices.\n(A) 3\n(B) 2",
        "Where is the cup? Select from the following choices.\n(A) left\n(B) right",
    ],
    "source": ["ADE20K", "COCO"],
}
CVBENCH_3D = {
    **first_row(CVBENCH_2D),
    "idx": [2],
    "type": ["3D"],
    "task": ["Depth"],
    "answer": ["(B)"],
    "prompt": ["Which is closer? Select from the following choices.\n(A) box\n(B) chair"],
    "source": ["Omni3D"],
}


def _mmvp_images(root: Path) -> None:
    (root / "MMVP Images").mkdir()
    for index in range(1, 5):
        Image.new("RGB", (4, 4), RED).save(root / "MMVP Images" / f"{index}.jpg")


LAYOUTS: dict[str, Layout] = {
    "vqav2": Layout(
        {"data/validation-00000-of-00001.parquet": VQAV2, "data/testdev-00000-of-00001.parquet": first_row(VQAV2)},
        ["two", "Yes"],
        {"accuracy": 0.8, "accuracy/number": 1.0, "accuracy/yes/no": 0.6},
        {0: "How many dogs?" + SHORT},
    ),
    "textvqa": Layout(
        {
            "data/validation-00000-of-00001.parquet": {
                "image_id": ["a", "b"],
                "question_id": [1, 2],
                "question": ["what does the sign say?", "what is the shop?"],
                "answers": [["stop"] * 10, ["cafe"] * 3 + ["coffee"] * 7],
                "image": [png(RED), png(BLUE)],
                "set_name": ["val", "val"],
            }
        },
        ["STOP", "cafe"],
        {"accuracy": 0.95},
        {1: "What is the shop?" + SHORT},  # lmms-eval capitalises TextVQA's question
    ),
    "vizwiz": Layout(
        {
            "data/val-00000-of-00001.parquet": {
                "question_id": ["VizWiz_val_1.jpg", "VizWiz_val_2.jpg"],
                "image": [png(RED), png(BLUE)],
                "question": ["What is this?", "What color?"],
                "answers": [["unanswerable"] * 10, ["blue"] * 10],
                "category": ["unanswerable", "other"],
            }
        },
        ["Unanswerable", "red"],
        {"accuracy": 0.5},
        {0: "What is this?\nWhen the provided information is insufficient, respond with 'Unanswerable'." + SHORT},
    ),
    "gqa": Layout(
        {
            "testdev_balanced_instructions/testdev-00000-of-00001.parquet": {
                "id": ["q1", "q2"],
                "imageId": ["n1", "n2"],
                "question": ["Is it red?", "Which side is the cup on?"],
                "answer": ["yes", "right"],
                "fullAnswer": ["Yes, it is red.", "The cup is on the right."],
            },
            "testdev_balanced_images/testdev-00000-of-00001.parquet": {
                "id": ["n2", "n1"],
                "image": [png(BLUE), png(RED)],
            },
        },
        ["Yes.", "left"],
        {"accuracy": 0.5},
        {0: "Is it red?" + SHORT},
    ),
    "docvqa": Layout(
        {
            "DocVQA/validation-00000-of-00001.parquet": DOCVQA,
            "InfographicVQA/validation-00000-of-00001.parquet": first_row(INFOVQA),
        },
        ["abce", "x"],
        {"anls": 0.375},
        {0: "What is the date?" + SHORT},
    ),
    "infovqa": Layout(
        {
            "InfographicVQA/validation-00000-of-00001.parquet": INFOVQA,
            "DocVQA/validation-00000-of-00001.parquet": first_row(DOCVQA),
        },
        ["12 %", "Asia"],
        {"anls": 0.875},
        {1: "Which continent?" + SHORT},
    ),
    "chartqa": Layout(
        {
            "data/test-00000-of-00001.parquet": {
                "type": ["human_test", "augmented_test", "augmented_test"],
                "question": ["What is the total?", "What share?", "How many?"],
                "answer": ["100", "0.45", "8"],
                "image": [png(RED), png(BLUE), png(GREEN)],
            }
        },
        ["104", "45%", "7"],
        {"accuracy": 2 / 3, "accuracy/human_test": 1.0, "accuracy/augmented_test": 0.5},
        {0: "What is the total?\nAnswer the question with a single word."},  # lmms-eval's ChartQA suffix
    ),
    "ocrbench": Layout(
        {
            "data/test-00000-of-00001.parquet": {
                "dataset": ["IIIT5K", "HME100k"],
                "question": ["what is written in the image?", "Write out the expression in LaTeX format."],
                "question_type": ["Regular Text Recognition", "Handwritten Mathematical Expression Recognition"],
                "answer": [["hello"], ["x^2"]],
                "image": [png(RED), png(BLUE)],
            }
        },
        ["The text is HELLO", "x ^ 2"],
        {"score": 0.002, "correct": 2.0, "accuracy": 1.0, "score/Text Recognition": 0.001},  # lmms-eval: count / 1000
        {0: "what is written in the image?"},
    ),
    "pope": Layout(
        {
            "data/test-00000-of-00001.parquet": {
                "id": ["0", "1", "2", "3"],
                "question_id": ["1", "2", "3", "4"],
                "question": ["Is there a dog in the image?"] * 4,
                "answer": ["yes", "no", "yes", "no"],
                "image_source": ["COCO_1"] * 4,
                "image": [png(RED)] * 4,
                "category": ["adversarial", "adversarial", "random", "random"],
            }
        },
        ["Yes", "No", "no", "yes"],
        {"accuracy": 0.5, "f1": 0.5, "yes_ratio": 0.5, "adversarial/accuracy": 1.0, "random/accuracy": 0.0},
        {0: "Is there a dog in the image?" + SHORT},
    ),
    "mme": Layout(
        {
            "data/test-00000-of-00002.parquet": {
                "question_id": ["1.jpg", "1.jpg"],
                "image": [png(RED)] * 2,
                "question": ["Is there a dog in this image? Please answer yes or no."] * 2,
                "answer": ["Yes", "No"],
                "category": ["existence"] * 2,
            },
            "data/test-00001-of-00002.parquet": {
                "question_id": ["2.png", "2.png"],
                "image": [png(BLUE)] * 2,
                "question": ["Does the code print 3? Please answer yes or no."] * 2,
                "answer": ["Yes", "No"],
                "category": ["code_reasoning"] * 2,
            },
        },
        ["Yes", "No", "Yes", "Yes"],
        {"perception": 200.0, "cognition": 50.0, "total": 250.0, "code_reasoning/acc_plus": 0.0},
        {0: "Is there a dog in this image?" + SHORT},  # lmms-eval drops " Please answer yes or no."
    ),
    "mmbench": Layout(
        {"en/dev-00000-of-00001.parquet": MMBENCH, "cn/dev-00000-of-00001.parquet": first_row(MMBENCH)},
        ["A", "B", "(B) blue"],
        {"accuracy": 2 / 3, "circular_accuracy": 0.5, "circular_accuracy/colors": 1.0, "score": 50.0},
        {
            0: "What is it? There are several options:\nA. cat\nB. dog\nC. bird\n" + LETTER,
            2: "Look closely. Which color? There are several options:\nA. red\nB. blue\nC. green\nD. black\n" + LETTER,
        },
    ),
    "seedbench": Layout(
        {
            "data/test-00000-of-00001.parquet": {
                "answer": ["B", "D", "D"],
                "choice_a": ["a1", "a2", "a3"],
                "choice_b": ["b1", "b2", "b3"],
                "choice_c": ["c1", "c2", "c3"],
                "choice_d": ["d1", "d2", "d3"],
                "data_id": ["1", "2", "3"],
                "data_type": ["image", "video", "image"],
                "question": ["q1", "q2", "q3"],
                "question_id": ["101", "102", "103"],
                "question_type_id": [1, 1, 2],
                "image": [[png(RED)], [png(GREEN), png(GREEN)], [png(BLUE)]],
            }
        },
        ["B. b1", "The answer is D"],  # lmms-eval's SEED-Bench reads the first character: "T"
        {"accuracy": 0.5, "accuracy/1": 1.0, "num_samples": 2, "num_filtered": 1},
        {0: "q1\nA. a1\nB. b1\nC. c1\nD. d1" + LETTER},
    ),
    "mmstar": Layout(
        {
            "mmstar.parquet": {
                "index": [0, 1, 2],
                "question": [
                    "Which is red?" + MMSTAR_OPTIONS,
                    "Which is blue?" + MMSTAR_OPTIONS,
                    "Yellow?" + MMSTAR_OPTIONS,
                ],
                "image": [png(RED), png(BLUE), png(GREEN)],
                "answer": ["A", "C", "B"],
                "category": ["coarse perception", "math", "math"],
                "l2_category": ["color", "geometry", "geometry"],
            }
        },
        ["A", "banana", "B"],
        {"accuracy": 2 / 3, "macro_accuracy": 0.75},
        {0: "Which is red?" + MMSTAR_OPTIONS + LETTER.removesuffix(".")},
    ),
    "scienceqa_img": Layout(
        {
            "ScienceQA-IMG/test-00000-of-00001.parquet": SCIENCEQA,
            "ScienceQA-FULL/test-00000-of-00001.parquet": first_row(SCIENCEQA),
        },
        ["B", "B"],
        {"accuracy": 0.5},
        {
            0: "Which is a mammal?\nA. frog\nB. whale" + LETTER,
            1: "Context: Think of temperature.\nWhich is hot?\nA. ice\nB. fire\nC. snow" + LETTER,
        },
    ),
    "ai2d": Layout(
        {
            "data/test-00000-of-00001.parquet": {
                "question": ["Which stage comes after the egg?", "What eats grass?"],
                "options": [["egg", "larva", "adult"], ["cow", "lion"]],
                "answer": ["1", "0"],
                "image": [png(RED), png(BLUE)],
            }
        },
        ["(B)", "cow"],  # lmms-eval's AI2D: "(B)" is B; an option's text is not read
        {"accuracy": 0.5},
        {1: "What eats grass?\nA. cow\nB. lion" + LETTER},
    ),
    "realworldqa": Layout(
        {
            "data/test-00000-of-00001.parquet": {
                "image": [png(RED), png(BLUE)],
                "question": [
                    "Which way is the car facing?\n\nA. Left\nB. Right\n\nPlease answer directly with only the letter "
                    "of the correct option and nothing else.",
                    "How many cars are there?\nPlease answer directly with a single word or number.",
                ],
                "answer": ["B", "3"],
            }
        },
        ["B.", "Three"],  # lmms-eval's RealWorldQA does not read number words: "Three" is not "3"
        {"accuracy": 0.5},
        {1: "How many cars are there?\nPlease answer directly with a single word or number."},
    ),
    "cvbench": Layout(
        {"test_2d.parquet": CVBENCH_2D, "test_3d.parquet": CVBENCH_3D},
        ["(A)", "(A)", "B"],
        {"accuracy": 2 / 3, "macro_accuracy": 0.75, "accuracy/2D/COCO": 0.0},
        {
            0: "Note: You only need to respond with A, B without providing any additional information.\n\n"
            "How many cars? Select from the following choices.\n(A) 3\n(B) 2"
        },
    ),
    "mmvp": Layout(
        {
            "Questions.csv": {
                "Index": [1, 2, 3, 4],
                "Question": ["Are the eyes open?"] * 2 + ["Is the dog facing left?"] * 2,
                "Options": ["(a) Open (b) Closed"] * 2 + ["(a) Yes (b) No"] * 2,
                "Correct Answer": ["(a)", "(b)", "(a)", "(b)"],
            }
        },
        ["A", "(b) Closed", "A", "Closed"],  # lmms-eval's MMVP: an option's text alone is not read
        {"accuracy": 0.75, "pair_accuracy": 0.5},
        {0: "Are the eyes open?\nA. Open\nB. Closed" + LETTER},
        first_color=None,
        extra=_mmvp_images,
    ),
    "mmmu": Layout(
        {
            "Accounting/dev-00000-of-00001.parquet": MMMU_MC,
            "Accounting/validation-00000-of-00001.parquet": MMMU_MC,
            "Art_Theory/validation-00000-of-00001.parquet": MMMU_OPEN,
        },
        ["(B)", "There are 25 figures"],
        # lmms-eval compares the open answer cell "['24', '25']" as one string, so no reply matches it
        {"accuracy": 0.5, "accuracy/Accounting": 1.0, "accuracy/Art_Theory": 0.0, "score": 0.5},
        {
            0: "<image 1> What is the balance?\nA. $1,000\nB. $2,000\n\nAnswer with the option's letter from the given "
            "choices directly.",
            1: "How many figures are in <image 1>?\n\nAnswer the question using a single word or phrase.",
        },
    ),
}
