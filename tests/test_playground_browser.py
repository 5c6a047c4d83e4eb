"""The playground in a real headless Chromium: the numbers on the page are net.trace's.

Skipped, saying so, when no Chromium and chromedriver are found outside CI; in CI (CI=true),
where ``.ci/run`` installs them, a missing browser is a failure.
"""

import os

import numpy as np
import pytest

pytest.importorskip("selenium")
pytest.importorskip("starlette")
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

from deltaprop import Network  # noqa: E402
from deltaprop.datasets import higham_points  # noqa: E402
from deltaprop.playground.browser import find_chromium, headless_chromium  # noqa: E402
from deltaprop.playground.server import running  # noqa: E402

SEED = 7


@pytest.fixture(scope="module")
def page():
    found = find_chromium()
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("no Chromium with chromedriver on PATH in CI: .ci/run should have installed them")
        pytest.skip("no Chromium with chromedriver found on PATH (apt-get install chromium chromium-driver): "
                    "the playground's browser tests did not run")
    with running() as url:
        driver = headless_chromium(*found)
        try:
            driver.get(url)
            WebDriverWait(driver, 60).until(lambda d: int(d.find_element(By.TAG_NAME, "body")
                                                          .get_attribute("data-updates")) >= 1)
            yield driver
        finally:
            driver.quit()


def updates(driver):
    return int(driver.find_element(By.TAG_NAME, "body").get_attribute("data-updates"))


def click(driver, element_id, timeout=60):
    """Click a button and wait until the page has drawn the server's answer."""
    before = updates(driver)
    driver.find_element(By.ID, element_id).click()
    WebDriverWait(driver, timeout).until(lambda d: updates(d) > before)


def fill(driver, element_id, text):
    box = driver.find_element(By.ID, element_id)
    if box.tag_name == "select":
        driver.execute_script("arguments[0].value = arguments[1];", box, text)
    else:
        box.clear()
        box.send_keys(text)


def shown(text):
    """A number as displayed, and the rounding it may carry (4 decimals, or 4 significant digits)."""
    v = float(text)
    return v, (abs(v) * 1e-3 if "e" in text else 5.01e-5)


def check_against_trace(driver, net, X, Y):
    """Every node's z, a, delta, b, dC/db and every edge's w, dC/dw on the page equals net.trace's."""
    t = net.trace(X[:1], Y[:1])
    nodes = driver.find_elements(By.CSS_SELECTOR, "#graph g.node")
    edges = driver.find_elements(By.CSS_SELECTOR, "#graph line.edge")
    assert len(nodes) == sum(net.sizes) and len(edges) == sum(W.size for W in net.weights)
    for node in nodes:
        l, j = int(node.get_attribute("data-l")), int(node.get_attribute("data-j"))
        if l == 0:
            expected = {"a": X[0, j]}
        else:
            expected = {"z": t.z[l][0, j], "a": t.a[l][0, j], "delta": t.delta[l][0, j],
                        "b": net.biases[l - 1][j], "db": t.db[l][j]}
        for name, want in expected.items():
            got, tol = shown(node.get_attribute(f"data-{name}"))
            assert abs(got - want) <= tol, f"{name}[{l}]_{j}: page {got}, trace {want}"
    for edge in edges:
        l, i, j = (int(edge.get_attribute(f"data-{k}")) for k in "lij")
        for name, want in (("w", net.weights[l - 1][i, j]), ("dw", t.dW[l][i, j])):
            got, tol = shown(edge.get_attribute(f"data-{name}"))
            assert abs(got - want) <= tol, f"{name}[{l}]_{i}{j}: page {got}, trace {want}"


def test_the_page_shows_trace_steps_sets_plays_and_rewinds(page, tmp_path_factory, capsys):
    driver = page
    for element_id, text in (("sizes", "2,2,3,2"), ("activations", "sigmoid,sigmoid,sigmoid"),
                             ("cost", "quadratic"), ("init", "0.5"), ("seed", str(SEED)), ("dataset", "higham")):
        fill(driver, element_id, text)
    click(driver, "build")
    net = Network([2, 2, 3, 2], ["sigmoid"] * 3, "quadratic", dtype="float64", seed=SEED, init=0.5)
    initial = [W.copy() for W in net.weights]
    X, Y = higham_points()

    click(driver, "forward")
    node = driver.find_element(By.CSS_SELECTOR, '#graph g.node[data-l="1"][data-j="0"]')
    assert node.get_attribute("data-z") and not node.get_attribute("data-delta"), "forward shows z, a only"
    click(driver, "backward")
    check_against_trace(driver, net, X, Y)

    # a weight set by hand: W^(2)_{1,2} (our layer 2, unit 1 of layer 1 to unit 2 of layer 2)
    for element_id, text in (("set-kind", "W"), ("set-l", "2"), ("set-i", "1"), ("set-j", "2"), ("set-value", "1.5")):
        fill(driver, element_id, text)
    click(driver, "set-btn")
    net.weights[1][1, 2] = 1.5
    check_against_trace(driver, net, X, Y)

    fill(driver, "eta", "0.5")
    fill(driver, "steps", "500")
    driver.find_element(By.ID, "play").click()
    WebDriverWait(driver, 300, poll_frequency=0.2).until(
        lambda d: d.find_element(By.ID, "correct").text == "10/10")
    driver.find_element(By.ID, "play").click()  # pause
    WebDriverWait(driver, 30).until(lambda d: d.find_element(By.ID, "play").text == "Play")
    assert int(driver.find_element(By.ID, "t").text) > 0

    shots = tmp_path_factory.mktemp("playground")
    trained = shots / "playground-trained.png"
    driver.save_screenshot(str(trained))

    click(driver, "rewind")
    assert driver.find_element(By.ID, "t").text == "0"
    net.weights = initial
    click(driver, "forward")
    click(driver, "backward")
    check_against_trace(driver, net, X, Y)
    with capsys.disabled():
        print(f"\nplayground screenshot: {trained}")
    assert trained.stat().st_size > 10_000


def test_the_page_uploads_a_csv_shows_formulas_and_exports_the_regions(page, tmp_path):
    from selenium.webdriver.common.action_chains import ActionChains

    driver = page
    rows = ["x1,x2,label"] + [f"{i / 10},{(i * 3 % 10) / 10},{'cat' if i % 2 else 'dog'}" for i in range(16)]
    csv = tmp_path / "mine.csv"
    csv.write_text("\n".join(rows) + "\n")
    before = updates(driver)
    driver.find_element(By.ID, "upload").send_keys(str(csv))
    WebDriverWait(driver, 60).until(lambda d: updates(d) > before and "12 training" in d.find_element(By.ID, "status").text)
    assert [o.text for o in driver.find_elements(By.CSS_SELECTOR, "#clickclass option")] == ["cat", "dog"]

    fill(driver, "notation", "nielsen")
    before = updates(driver)
    driver.execute_script("document.getElementById('notation').dispatchEvent(new Event('change'))")
    WebDriverWait(driver, 30).until(lambda d: updates(d) > before)
    node = driver.find_element(By.CSS_SELECTOR, '#graph g.node[data-l="1"][data-j="0"]')
    ActionChains(driver).move_to_element(node).perform()
    tip = driver.find_element(By.ID, "tooltip")
    WebDriverWait(driver, 30).until(lambda d: tip.is_displayed() and tip.text)
    assert tip.text.splitlines()[0] == "z^2 = w^2 a^1 + b^2", tip.text  # Nielsen's layers: the input is layer 1

    link = driver.find_element(By.ID, "dl-png")
    driver.execute_script("arguments[0].addEventListener('click', (e) => e.preventDefault());", link)
    link.click()
    assert link.get_attribute("href").startswith("data:image/png;base64,")


def test_a_long_steps_run_can_be_stopped_from_the_page(page):
    driver = page
    for element_id, text in (("sizes", "2,16,16,2"), ("activations", "tanh,tanh,sigmoid"), ("cost", "quadratic"),
                             ("init", "0.5"), ("seed", str(SEED)), ("dataset", "higham"), ("eta", "0.01")):
        fill(driver, element_id, text)
    click(driver, "build")
    fill(driver, "nsteps", "1000000")  # seconds of SGD: the page stays live and its button stops the run
    driver.find_element(By.ID, "stepn").click()
    WebDriverWait(driver, 30, poll_frequency=0.05).until(lambda d: d.find_element(By.ID, "stepn").text == "Stop")
    before = updates(driver)
    driver.find_element(By.ID, "stepn").click()
    WebDriverWait(driver, 60).until(lambda d: d.find_element(By.ID, "stepn").text == "Steps ×" and updates(d) > before)
    assert 0 < int(driver.find_element(By.ID, "t").text) < 1_000_000
