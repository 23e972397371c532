"""Corpus BLEU and chrF from sufficient statistics summed over batches (and ranks).

Both metrics are corpus-level: n-gram counts are summed over every sentence before the
score is computed, so the score of a split is not an average of batch scores.

- BLEU (Papineni et al., 2002): clipped n-gram matches and totals for n = 1..4 and the
  hypothesis and reference lengths; ``BP * exp(mean log p_n)`` with sacreBLEU's default
  ``exp`` smoothing of zero counts. With ``sacrebleu`` installed (the ``bleu`` extra) the
  statistics come from sacreBLEU's tokenizer (``13a``, ``zh`` for Chinese targets): the
  score is sacreBLEU's, comparable with published numbers. Without it, the same formula
  runs on this project's word splitter (words, punctuation, single CJK characters): a
  BLEU, but not comparable with published sacreBLEU figures.
- chrF (Popovic, 2015): character n-grams n = 1..6 without whitespace, F-beta with
  beta = 2 from precision and recall averaged over the orders; identical to sacreBLEU's
  ``CHRF()`` corpus score and needs no extra.
"""

from __future__ import annotations

import importlib.util
import math
from collections import Counter
from collections.abc import Sequence

from ..data.tokenizer import split_words

BLEU_ORDER = 4
CHRF_ORDER = 6
CHRF_BETA = 2.0
# [sys_len, ref_len, correct_1..4, total_1..4]
BLEU_STATS = 2 + 2 * BLEU_ORDER
# [hyp_n, ref_n, match_n] for n = 1..6
CHRF_STATS = 3 * CHRF_ORDER


def sacrebleu_available() -> bool:
    """Whether the ``sacrebleu`` package is installed.

    Returns:
        True when BLEU statistics come from sacreBLEU.
    """
    return importlib.util.find_spec("sacrebleu") is not None


def _ngrams(tokens: Sequence[str], order: int) -> Counter[tuple[str, ...]]:
    return Counter(tuple(tokens[i : i + order]) for i in range(len(tokens) - order + 1))


def _own_bleu_statistics(hypotheses: Sequence[str], references: Sequence[str]) -> list[float]:
    stats = [0.0] * BLEU_STATS
    for hypothesis, reference in zip(hypotheses, references, strict=True):
        hyp, ref = split_words(hypothesis), split_words(reference)
        stats[0] += len(hyp)
        stats[1] += len(ref)
        for n in range(1, BLEU_ORDER + 1):
            hyp_counts, ref_counts = _ngrams(hyp, n), _ngrams(ref, n)
            stats[1 + n] += sum(min(c, ref_counts[g]) for g, c in hyp_counts.items())
            stats[1 + BLEU_ORDER + n] += max(len(hyp) - n + 1, 0)
    return stats


def bleu_statistics(
    hypotheses: Sequence[str], references: Sequence[str], tokenize: str
) -> list[float]:
    """BLEU's sufficient statistics of some sentence pairs (one reference each).

    Args:
        hypotheses: Model outputs (detokenized text).
        references: Reference translations, in the same order.
        tokenize: sacreBLEU tokenizer name (used only when sacreBLEU is installed).

    Returns:
        ``[sys_len, ref_len, correct_1..4, total_1..4]``.
    """
    if not sacrebleu_available():
        return _own_bleu_statistics(hypotheses, references)
    from sacrebleu.metrics import BLEU

    score = BLEU(tokenize=tokenize).corpus_score(list(hypotheses), [list(references)])
    return [float(score.sys_len), float(score.ref_len), *map(float, score.counts), *map(float, score.totals)]


def bleu_from_statistics(stats: Sequence[float]) -> float:
    """Corpus BLEU (0-100) from summed statistics, with sacreBLEU's ``exp`` smoothing.

    Args:
        stats: ``[sys_len, ref_len, correct_1..4, total_1..4]`` summed over the corpus.

    Returns:
        The score; 0 when nothing matches.
    """
    sys_len, ref_len = stats[0], stats[1]
    correct = stats[2 : 2 + BLEU_ORDER]
    total = stats[2 + BLEU_ORDER :]
    if not any(correct) or sys_len <= 0:
        return 0.0
    brevity = 1.0 if sys_len >= ref_len else math.exp(1 - ref_len / sys_len)
    smooth, logs = 1.0, []
    for n in range(BLEU_ORDER):
        if total[n] == 0:
            break
        if correct[n] == 0:
            smooth *= 2  # sacreBLEU's "exp": 1 / (2^k * total) for the k-th zero count
            logs.append(math.log(100.0 / (smooth * total[n])))
        else:
            logs.append(math.log(100.0 * correct[n] / total[n]))
    logs += [-9_999_999_999.0] * (BLEU_ORDER - len(logs))  # a missing order: score 0
    return brevity * math.exp(sum(logs) / BLEU_ORDER)


def _char_ngrams(text: str, order: int) -> Counter[str]:
    squeezed = "".join(text.split())
    return Counter(squeezed[i : i + order] for i in range(len(squeezed) - order + 1))


def chrf_statistics(hypotheses: Sequence[str], references: Sequence[str]) -> list[float]:
    """The chrF sufficient statistics of some sentence pairs (one reference each).

    Args:
        hypotheses: Model outputs.
        references: Reference translations, in the same order.

    Returns:
        ``[hyp_n, ref_n, match_n]`` for ``n = 1..6``, flattened.
    """
    stats = [0.0] * CHRF_STATS
    for hypothesis, reference in zip(hypotheses, references, strict=True):
        for n in range(1, CHRF_ORDER + 1):
            hyp, ref = _char_ngrams(hypothesis, n), _char_ngrams(reference, n)
            base = 3 * (n - 1)
            # As sacreBLEU: hypothesis n-grams count only when the reference has some.
            stats[base] += sum(hyp.values()) if ref else 0
            stats[base + 1] += sum(ref.values())
            stats[base + 2] += sum(min(count, ref[gram]) for gram, count in hyp.items())
    return stats


def chrf_from_statistics(stats: Sequence[float]) -> float:
    """Corpus chrF (0-100) from summed statistics (sacreBLEU's ``CHRF()`` formula).

    Args:
        stats: ``[hyp_n, ref_n, match_n]`` for ``n = 1..6``, summed over the corpus.

    Returns:
        The score.
    """
    factor = CHRF_BETA**2
    precision = recall = 0.0
    orders = 0
    for n in range(CHRF_ORDER):
        hyp, ref, match = stats[3 * n : 3 * n + 3]
        if hyp > 0 and ref > 0:
            precision += match / hyp
            recall += match / ref
            orders += 1
    if orders == 0:
        return 0.0
    precision, recall = precision / orders, recall / orders
    if precision + recall == 0:
        return 0.0
    return 100 * (1 + factor) * precision * recall / (factor * precision + recall)

