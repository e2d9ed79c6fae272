"""`ioguide calibrate`: the relevance threshold under which a question counts as not covered."""

from __future__ import annotations


def calibrate(assistant, questions, target_false_abstention: float = 0.05) -> dict:
    """Pick the relevance threshold: the highest one that abstains on at most target_false_abstention of the
    answerable questions; report how many unanswerable ones it then catches."""
    ans, una = [], []
    for q in questions:
        rel = assistant.retriever.retrieve(q.question, k=5, expand=False).relevance
        (ans if q.answerable else una).append((rel, q.id))
    ans.sort()
    allowed = int(target_false_abstention * len(ans))
    threshold = round(ans[allowed][0] - 1e-4, 4) if ans else 0.0
    caught = [qid for rel, qid in una if rel < threshold]
    return {"threshold": threshold, "answerable": len(ans), "unanswerable": len(una),
            "false_abstention": round(sum(r < threshold for r, _ in ans) / max(1, len(ans)), 4),
            "abstention_recall_from_relevance": round(len(caught) / max(1, len(una)), 4),
            "answerable_relevance_min_p05_median": [round(ans[0][0], 4),
                                                    round(ans[int(0.05 * len(ans))][0], 4),
                                                    round(ans[len(ans) // 2][0], 4)] if ans else [],
            "unanswerable_relevance_median": round(sorted(r for r, _ in una)[len(una) // 2], 4) if una else None,
            "target_false_abstention": target_false_abstention}
