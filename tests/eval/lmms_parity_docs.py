"""Generated MME, MMBench (English dev) and MMMU (validation) documents in their hub column layouts, with raw
replies to score, for the lmms-eval parity tests (imported as ``lmms_parity_docs``). Images are left out of the
documents (the tests add them when writing parquet); every generator is seeded."""

from __future__ import annotations

import random
from typing import Any

Doc = dict[str, Any]

MME_CATEGORIES = (
    "existence", "count", "position", "color", "posters", "celebrity", "scene", "landmark", "artwork", "OCR",
    "commonsense_reasoning", "numerical_calculation", "text_translation", "code_reasoning",
    "my_subtask",  # not an MME subtask: lmms-eval adds it to cognition
)  # fmt: skip
YES_NO = (
    "Yes", "No", "yes", "no", "YES", "NO", " yes ", "no.", "Yes.", "y", "n", "Y", "N.", "yes\n", "nope", "Not really",
    "not", "No, it is not.", "Yes, there is.", "yep", "yeah", "So yes", "I think no", "", ".", "other", "maybe",
    "Yes yes", "noo", "ye s", "n/a", "y.", "  No  ", "Y E S", "Nay", "Noted", "yesterday", "Absolutely not",
)  # fmt: skip
QUESTIONS = (
    "Is there a {x} in this image? Please answer yes or no.",
    "Is the {x} on the left? Please answer yes or no.",
    "Is this a photo of {x}?  Please answer yes or no. ",  # two spaces, trailing space
    "Are there two {x}s?",  # no phrase to drop
    " Please answer yes or no. Is the {x} red? Please answer yes or no.",
)
THINGS = ("dog", "cat", "car", "tree", "sign", "cup")


def mme_docs(seed: int, images_per_category: int = 6) -> tuple[list[Doc], list[str]]:
    """Two questions (a yes and a no) per image and category, and a reply to each."""
    rng = random.Random(seed)
    docs, replies = [], []
    for category in MME_CATEGORIES:
        for n in range(images_per_category):
            image = f"{category}_{n}.{rng.choice(['jpg', 'png'])}"
            for gold in rng.sample(["Yes", "No"], 2):
                question = rng.choice(QUESTIONS).format(x=rng.choice(THINGS))
                docs.append({"question_id": image, "question": question, "answer": gold, "category": category})
                replies.append(rng.choice(YES_NO) if rng.random() < 0.8 else gold)
    return docs, replies


OPTION_TEXTS = (
    "cat", "black cat", "dog", "red", "dark red", "blue", "3", "13", "Yes", "No", "None of these", "a tree",
    "The man is running", "left", "right", "A", "apple", "Banana", "two dogs",
)  # fmt: skip
MMBENCH_CATEGORIES = ("action_recognition", "ocr", "spatial_relationship", "attribute_recognition")
HINTS = (None, None, "nan", "Look at the picture.", "The image shows a street.\nThink carefully.")


def mmbench_reply(rng: random.Random, options: list[str], gold: str) -> str:
    """A reply: a letter in some wrapping, an option's text, a phrase or junk."""
    letters = "ABCDE"[: len(options)]
    letter = gold if rng.random() < 0.5 else rng.choice("ABCDE")
    other = rng.choice(letters)
    text = options[letters.index(letter)] if letter in letters else rng.choice(OPTION_TEXTS)
    forms = (
        "{L}", "({L})", "{L}.", "{L})", "{L}:", ":{L}", "{L},", "{L}).", "({L}).", "{l}", "Answer: {L}",
        "The answer is {L}", "The answer is {L}.", "{L}. {T}", "({L}) {T}", "{L}) {T}", "Option {L}", "**{L}**",
        "I choose {L}", "{L} {T}", "A {T}", "A and {L}", "{L} or {O}", "{L}, {O}", "{T}", "{t}", "It is {T}.",
        "I think it's {T}, not {U}", "{O}{L}", "The correct option is ({L}) {T}", "Both {L} and {O}", "",
        "I don't know", "Failed to obtain answer via API: {L}", "nan", "ABCD", "Dog", "Cannot tell from the image",
        "{L}\n\nBecause {T}.", "  {L}  ", "Answer:{L}", "{L}:{T}", "answer is {L}", "{L}? {T}!",
    )  # fmt: skip
    return rng.choice(forms).format(L=letter, l=letter.lower(), O=other, T=text, t=text.lower(), U=rng.choice(options))


def mmbench_docs(seed: int, questions: int = 70) -> tuple[list[Doc], list[str]]:
    """Questions with 2–5 options and their circular copies (index i + k·10⁶, options rotated), with replies."""
    rng = random.Random(seed)
    docs, replies = [], []
    for i in range(questions):
        options = rng.sample(OPTION_TEXTS, rng.choice([2, 3, 4, 4, 4, 5]))
        gold = rng.randrange(len(options))
        question = rng.choice(["What is shown?", "Which one is right? ", "What color is it?", "\nHow many?"])
        base = {"question": question, "hint": rng.choice(HINTS), "category": rng.choice(MMBENCH_CATEGORIES)}
        base.update(source="src", split="dev", comment=None, **{"L2-category": f"l2_{i % 3}"})
        for shift in range(len(options) if rng.random() < 0.9 else 1):
            shifted = options[shift:] + options[:shift]
            letter = "ABCDE"[(gold - shift) % len(options)]
            row = {"index": i + shift * 1_000_000, **base, "answer": letter}
            row.update({c: (shifted[k] if k < len(shifted) else None) for k, c in enumerate("ABCDE")})
            docs.append(row)
            replies.append(mmbench_reply(rng, shifted, letter))
    return docs, replies


MMMU_SUBJECTS = (
    "Accounting", "Art_Theory", "Biology", "Clinical_Medicine", "History", "Materials", "Physics",
    "Custom_Subject",  # in none of the six disciplines: counted overall only
)  # fmt: skip
MC_OPTIONS = (
    "$1,000", "$2,000", "photosynthesis", "respiration", "3.5 m/s", "12", "1,200", "None of the above",
    "It's the DNA", "A", "the left one", "Baroque", "mitochondria", "-5", "2e3",
)  # fmt: skip
OPEN_GOLDS = ("3.14", "1,200", "-5", "2e3", "0.5", "12", "red", "x", "Paris", "['24', '25']", "1/2", "6 cm")


def mmmu_mc_reply(rng: random.Random, options: list[str], gold: str) -> str:
    letters = "ABCDEFG"[: len(options)]
    letter = gold if rng.random() < 0.5 else rng.choice(letters)
    text = options[letters.index(letter)]
    forms = (
        "{L}", "({L})", "{L}.", "{L}:", "The answer is ({L}).", "Answer: {L}", "{L}. {T}", "{l}", "I pick {L}",
        "The correct choice must be {T} because of the data given", "({L}) or ({O})", "{L} or {O}", "The DNA",
        "RNA or DNB", "Option {L} is right", "no idea", "", "It depends", "{T}", "???", "The value is {T}.",
        ", {L}.", "'{L}'", "{L}!", "I believe the answer here is {T} not {U}", "Because of {T}, ({L})",
    )  # fmt: skip
    return rng.choice(forms).format(L=letter, l=letter.lower(), O=rng.choice(letters), T=text, U=rng.choice(options))


def mmmu_open_reply(rng: random.Random, gold: str) -> str:
    forms = (
        "{G}", "The answer is {G}.", "x = {G}", "So the result is {G} units", "{G} dollars", "Therefore, it is {G}",
        "First we compute 7.\nThen the final answer is {G}", "It could be {G} or 42", "about 3.1", "1,200.50",
        "The answer is ", "so ", "I don't know", "", "The total is 1,234,567 and 5.6e3", "Red", "RED.", "= 12",
        "The answer is 3.14159", "-5.0", "2000", "0.50", "The answer is x.", "{G}\n", "Result: {G}; thus {G}",
    )  # fmt: skip
    return rng.choice(forms).format(G=gold)


def mmmu_docs(seed: int, per_subject: int = 14) -> tuple[list[Doc], list[str]]:
    """Multiple-choice and open questions per subject (ids "validation_<Subject>_<n>"), with replies."""
    rng = random.Random(seed)
    docs, replies = [], []
    for subject in MMMU_SUBJECTS:
        for n in range(1, per_subject + 1):
            doc = {"id": f"validation_{subject}_{n}", "explanation": "", "img_type": "['Tables']"}
            doc.update(topic_difficulty="Easy", subfield="x")
            if rng.random() < 0.6:
                options = rng.sample(MC_OPTIONS, rng.randint(2, 5))
                gold = "ABCDE"[rng.randrange(len(options))]
                question = rng.choice(["<image 1> What is the balance?", "Which is right? ", "Pick one:\n<image 1>"])
                doc.update(question=question, options=repr(options), answer=gold, question_type="multiple-choice")
                replies.append(mmmu_mc_reply(rng, options, gold))
            else:
                gold = rng.choice(OPEN_GOLDS)
                question = rng.choice(["How many figures are in <image 1>?", "Compute the value. ", "Name it."])
                doc.update(question=question, options="[]", answer=gold, question_type="open")
                replies.append(mmmu_open_reply(rng, gold))
            docs.append(doc)
    return docs, replies
