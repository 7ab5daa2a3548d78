"""Fillers: words whose presence or absence never changes what a request asks.

A word that is neither a filler nor a synonym counts as a content word, and a content word present in
only one of two requests blocks their merge. A wrong filler can cost a wrong answer, so a word goes in
only when dropping it never changes the question. A filler is never also a synonym-group member
(checked by the tests): the two would disagree, the word itself a filler but its inflections ("shows")
mapped to the group.
"""

from __future__ import annotations

FILLERS = frozenset({
    # articles, determiners
    "a", "an", "the", "this", "that", "these", "those", "some", "any", "such", "certain",
    # first and second person (requests are asked by someone: "how do I" = "how do you" = "how does one")
    "i", "me", "my", "mine", "myself", "you", "your", "yours", "yourself", "we", "us", "our", "ours",
    "ourselves", "one", "oneself", "u", "ur",
    # auxiliaries and copulas (tense and question form are checked by their own rules)
    "is", "are", "am", "was", "were", "be", "been", "being", "do", "does", "did", "done", "doing",
    "have", "has", "had", "having", "can", "could", "may", "might", "should", "shall", "would", "will",
    "must", "ought",
    # question words (checked by the question rule)
    "what", "which", "whats", "why", "how", "when", "where", "who", "whom", "whose", "whether",
    # connectives and light prepositions
    "and", "or", "but", "so", "then", "if", "as", "of", "to", "for", "at", "by", "with", "about", "it",
    "its", "it's", "there", "here", "than", "also", "too", "yet", "via", "per", "upon", "onto", "in", "on",
    "into", "from", "within", "using",
    # politeness and hedges
    "please", "pls", "plz", "kindly", "thanks", "thank", "hi", "hello", "hey", "dear", "sir", "madam",
    "really", "actually", "exactly", "basically", "simply", "just", "truly", "ever", "even", "still",
    "quite", "rather", "perhaps", "maybe", "possibly", "possible", "literally", "generally", "usually",
    "typically", "normally", "anyway", "anyways", "ok", "okay", "well", "now", "currently",
    "tell", "know", "explain", "question", "answer", "want", "wonder", "i'd", "idea",
    "thing", "things", "something", "anything", "way", "ways", "method", "methods",
    "lot", "lots", "much", "many", "various", "different", "other", "etc", "very", "between",
    "go", "going", "able", "try", "trying", "become", "becoming", "became", "show", "display",
})  # fmt: skip
