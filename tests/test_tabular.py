"""CSV and NPZ files: the header rule, typed labels, the task rule, refused cells, repeated column names."""

import numpy as np
import pytest

from deltaprop.datasets import load_csv, read_features, read_labelled

ROWS = [[14.23, 1.71, 2.43], [13.2, 1.78, 2.14], [13.16, 2.36, 2.67], [14.37, 1.95, 2.5], [13.24, 2.59, 2.87]]


def write(path, lines):
    path.write_text("".join(line + "\n" for line in lines))
    return path


def test_a_headerless_csv_keeps_its_first_row(tmp_path):
    path = write(tmp_path / "rows.csv", [",".join(map(str, r)) for r in ROWS])
    X = read_features(path, n_features=3)
    assert X.shape == (5, 3)
    np.testing.assert_array_equal(X, np.array(ROWS))


def test_a_header_is_a_row_with_a_cell_that_is_not_a_number(tmp_path):
    path = write(tmp_path / "rows.csv", ["alcohol,malic_acid,ash"] + [",".join(map(str, r)) for r in ROWS])
    np.testing.assert_array_equal(read_features(path, n_features=3), np.array(ROWS))


def test_header_flags_override_the_rule(tmp_path):
    plain = write(tmp_path / "plain.csv", [",".join(map(str, r)) for r in ROWS])
    np.testing.assert_array_equal(read_features(plain, n_features=3, header=True), np.array(ROWS[1:]))
    named = write(tmp_path / "named.csv", ["a,b,c"] + [",".join(map(str, r)) for r in ROWS])
    with pytest.raises(ValueError, match=r"row 1, column '1': 'a' is not a number"):
        read_features(named, n_features=3, header=False)


def test_a_headerless_labelled_csv_names_columns_by_number(tmp_path):
    path = write(tmp_path / "data.csv", ["1.5,2,0", "2.5,1,1", "0.5,3,0", "1.0,0,1"])
    X, labels = read_labelled(path)
    assert X.shape == (4, 2) and labels == [0, 1, 0, 1]
    X, labels = read_labelled(path, target="2")
    assert labels == [2, 1, 3, 0] and X[:, 1].tolist() == [0, 1, 0, 1]


def test_labels_come_back_as_numbers_the_file_wrote(tmp_path):
    # np.savetxt's default format writes the class 0 as 0.000000000000000000e+00
    lines = [f"{x:.18e},{k:.18e}" for x, k in zip(np.linspace(0, 1, 12), [0, 1, 2] * 4)]
    ds = load_csv(write(tmp_path / "saved.csv", lines))
    assert ds.task == "classification" and ds.classes == (0, 1, 2)
    assert all(type(c) is int for c in ds.classes)


def test_string_labels_stay_strings(tmp_path):
    lines = ["x,y,kind"] + [f"{i},{i % 3},{'ab'[i % 2]}" for i in range(12)]
    ds = load_csv(write(tmp_path / "kinds.csv", lines))
    assert ds.task == "classification" and ds.classes == ("a", "b")


@pytest.mark.parametrize("targets, task", [
    ([i % 3 for i in range(60)], "classification"),          # few distinct integers
    ([i % 50 for i in range(60)], "classification"),         # 50 distinct integers: still classes
    (list(range(60)), "regression"),                         # 60 distinct integers
    ([0.5 * (i % 3) for i in range(60)], "regression"),      # non-integer numbers
])
def test_auto_task_rule(tmp_path, targets, task):
    lines = ["x,t"] + [f"{i / 7},{t}" for i, t in enumerate(targets)]
    ds = load_csv(write(tmp_path / "t.csv", lines))
    assert ds.task == task
    assert (ds.target_scaling is None) == (task == "classification")


def test_regression_split_and_target_scaling(tmp_path):
    y = np.arange(40) * 1.5 + 100
    lines = ["x,t"] + [f"{i},{v}" for i, v in enumerate(y)]
    ds = load_csv(write(tmp_path / "t.csv", lines), task="regression", seed=3)
    assert ds.classes == () and ds.n_outputs == 1 and len(ds.y_test) == 10 and len(ds.y_train) == 30
    assert sorted(np.concatenate([ds.y_train, ds.y_test]).tolist()) == y.tolist()
    assert ds.split is not None and ds.split["test_rows"] == sorted(int(v) for v in (ds.y_test - 100) / 1.5)
    np.testing.assert_allclose(ds.target_scaling.mean, [ds.y_train.mean()], rtol=1e-12)
    np.testing.assert_allclose(ds.target_scaling.std, [ds.y_train.std()], rtol=1e-12)


def test_regression_refuses_string_targets(tmp_path):
    path = write(tmp_path / "s.csv", ["x,t", "1,a", "2,b", "3,a", "4,b"])
    with pytest.raises(ValueError, match="a regression needs numeric targets, got the label 'a'"):
        load_csv(path, task="regression")


def test_a_nul_byte_in_a_cell_is_refused(tmp_path):
    path = tmp_path / "nul.csv"
    path.write_bytes(b"a,b,label\n1,2,0\n1\x00,3,1\n4,5,0\n6,7,1\n")
    with pytest.raises(ValueError, match=r"row 3 holds a NUL byte"):
        load_csv(path)
    with pytest.raises(ValueError, match=r"row 3 holds a NUL byte"):
        read_features(path, n_features=3)


def test_repeated_column_names_are_each_named_once(tmp_path):
    path = write(tmp_path / "dup.csv", ["a,b,a,c,b,a,label", "1,2,3,4,5,6,0", "1,2,3,4,5,6,1"])
    with pytest.raises(ValueError, match=r"repeats the column name\(s\) 'a', 'b'$"):
        load_csv(path)
