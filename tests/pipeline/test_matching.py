from __future__ import annotations

from crosswalks.matching import (
    Address,
    address_similarity,
    best_matches,
    customer_confidence,
    name_similarity,
)


def test_it_treats_legal_form_variants_as_the_same_company():
    assert name_similarity("Acme Corp", "ACME Corporation") == 1.0
    assert name_similarity("Vandelay Technologies", "Vandelay Technologies, Inc.") == 1.0
    assert name_similarity("Globex", "Initech Inc.") < 0.5


def test_it_scores_an_extra_word_below_an_exact_match():
    partial = name_similarity("Acme", "Acme Manufacturing Co.")
    assert 0.5 < partial < 0.85


def test_it_reads_abbreviated_streets_and_house_number_order_as_the_same_address():
    sap = Address("Technology Way 9183", "Phoenix", "AZ", "85093", "US")
    assert address_similarity(Address("9183 Technology Way", "Phoenix", "AZ", "85093", "US"), sap) == 1.0
    assert address_similarity(Address("12 Main St", "Austin", "TX", "78701", "US"),
                              Address("12 Main Street", "Austin", "TX", "78701", "US")) == 1.0


def test_it_drops_below_the_address_threshold_on_a_wrong_postal_code():
    sap = Address("9183 Technology Way", "Phoenix", "AZ", "85093", "US")
    assert address_similarity(Address("9183 Technology Way", "Phoenix", "AZ", "85094", "US"), sap) < 0.9


def test_it_never_is_certain_on_a_name_alone():
    assert customer_confidence(1.0, None) < 0.95
    assert customer_confidence(1.0, 1.0) == 1.0


def test_it_ranks_product_suggestions_best_first():
    ranked = best_matches("Enterprise License Annual", {
        "MAT-EL-001": "Enterprise License - Annual", "MAT-PL-001": "Professional License - Annual"})
    assert [key for key, _ in ranked] == ["MAT-EL-001", "MAT-PL-001"]
    assert ranked[0][1] > 0.9
