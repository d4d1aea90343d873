import apache_beam as beam
import pytest
from apache_beam.testing.util import assert_that, equal_to

from transforms.clean import CleanArticles, best_run, clean_article, detect_language, remove_boilerplate, repair
from transforms.parse import parse_document
from transforms.schema import Article, RawDocument


def cleaned_seed(seed_paths, prefix) -> Article:
    path = next(p for p in seed_paths if p.name.startswith(prefix))
    return clean_article(parse_document(RawDocument(path.stem, str(path), "text", path.read_text(encoding="utf-8"))))


def test_repair_fixes_mojibake_quotes_and_spacing():
    assert (
        repair("The cafÃ© said \u201chello\u201d\u00a0 there  \n\n\n\n  Next\t line ")
        == 'The café said "hello" there\n\nNext line'
    )


def test_best_run_is_the_highest_scoring_contiguous_stretch():
    assert best_run([-5, 10, -3, 8, -20, 6]) == (1, 4)
    assert best_run([-1, -2]) == (0, 0)


BODY = [
    "The city council voted on Tuesday to extend the night bus network to the northern suburbs, a decision "
    "that residents have campaigned for since the last line was cut four years ago.",
    "The new routes will start in March and will be paid for by a small rise in parking charges in the centre, "
    "the council said in a statement after the vote.",
    "Funding questions",
    "Opposition members said the plan did not explain what would happen if the parking income fell short of "
    "the forecasts, and asked for a review after the first year.",
]


def test_menus_lists_and_prompts_are_removed_without_a_phrase_list():
    page = "\n".join(
        ["Home", "World", "Business", "Sport", "Night buses to reach northern suburbs", "Night buses to reach northern suburbs"]
        + BODY
        + [
            "Share this",
            "Most popular",
            "Ten things to do this weekend in the old town",
            "Local team wins the cup after dramatic penalty shoot out",
            "Sign up to our daily email",
            "Your email address will not be published.",
        ]
    )
    assert remove_boilerplate(page, "en") == "\n\n".join(BODY)


def test_seed_000_ends_before_newsletter(seed_paths):
    article = cleaned_seed(seed_paths, "000")
    assert article.text.endswith("as the United States withdrew.")
    assert "Newsletter" not in article.text and "Related Articles" not in article.text
    assert "The State Department provided few other details." in article.text
    assert article.title not in article.text


def test_seed_003_loses_switchers_captions_and_read_more(seed_paths):
    article = cleaned_seed(seed_paths, "003")
    lines = article.text.splitlines()
    for word in ("Theme", "Light", "Dark", "Language", "Font"):
        assert word not in lines
    assert "Read more" not in article.text and "Editor's Choice" not in article.text
    assert "Members of Taliban forces gesture" not in article.text  # photo captions
    assert "Rawad Taha" not in article.text
    assert "It went absolutely calmly and without incident" in article.text
    assert article.text.startswith("Russian and Chinese embassies are the only diplomatic missions")


def test_seed_002_loses_comment_and_tip_prompts(seed_paths):
    article = cleaned_seed(seed_paths, "002")
    assert article.text.endswith("No country has recognized the Taliban as the legitimate government of Afghanistan.")
    assert "Leave a Reply" not in article.text and "tip" not in article.text.lower()


def test_cleaned_seeds_are_english_and_counted(seed_paths):
    for prefix in ("000", "001", "002", "003", "004"):
        article = cleaned_seed(seed_paths, prefix)
        assert article.language == "en" and article.word_count == len(article.text.split()) > 150


def test_language_detection():
    assert detect_language("Le gouvernement a annoncé mardi une nouvelle réforme des retraites pour les salariés.") == "fr"


def test_html_text_gets_repairs_only():
    article = Article(
        "a", "p", None, None, "T", (), None, None, "Short line\n\n\nA caf\u00c3\u00a9 story with five words.", "html"
    )
    assert clean_article(article).text == "Short line\n\nA café story with five words."


def test_clean_transform_routes_empty_results_to_errors(test_pipeline):
    good = Article("good", "g.txt", None, None, None, (), None, None, "\n".join(BODY), "text")
    junk = Article("junk", "j.txt", None, None, None, (), None, None, "Home\nWorld\nSport\nLogin", "text")
    with test_pipeline as p:
        cleaned = p | beam.Create([good, junk]) | CleanArticles()
        assert_that(cleaned.articles | beam.Map(lambda a: a.article_id), equal_to(["good"]), label="articles")
        assert_that(cleaned.errors | beam.Map(lambda e: (e.source_path, e.stage)), equal_to([("j.txt", "clean")]), label="errors")


@pytest.mark.parametrize("text", ["", "   \n  "])
def test_nothing_left_is_an_error(text):
    with pytest.raises(ValueError, match="no article text left"):
        clean_article(Article("a", "p", None, None, None, (), None, None, text, "text"))
