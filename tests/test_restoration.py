"""The restore pipeline's file handling below the command line."""

from concurrent.futures import ThreadPoolExecutor

from semanir.restoration import check_writable


def test_many_writability_checks_of_one_folder_at_once_all_pass(tmp_path):
    # A fixed probe name made concurrent checks delete each other's probe (~1 in 3 failed).
    with ThreadPoolExecutor(8) as pool:
        failures = [f for f in pool.map(lambda _: _check_returns_error(tmp_path), range(800)) if f]
    assert failures == []
    assert list(tmp_path.iterdir()) == []  # no probe left behind


def _check_returns_error(folder):
    try:
        check_writable(folder)
    except ValueError as err:
        return str(err)
    return None
