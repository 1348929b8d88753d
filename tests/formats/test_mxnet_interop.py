"""RecordIO written by roost reads back unchanged in MXNet 1.9.1, and the other way round."""

import numpy as np

from roost.formats.recordio import IRHeader, RecordReader, RecordWriter, pack_img, unpack_img
from roost.formats.recordio.framing import MAGIC_BYTES

PAYLOADS = [
    b"",
    b"a",
    b"abcd" + MAGIC_BYTES + b"xyz",
    b"x" * 1001,
    MAGIC_BYTES * 3,
    b"ab" + MAGIC_BYTES + b"cd",
]


def test_roost_writes_the_same_bytes_as_mxnet(tmp_path, run_mxnet):
    with RecordWriter(tmp_path / "roost.rec", tmp_path / "roost.idx") as writer:
        for key, payload in enumerate(PAYLOADS):
            writer.write_idx(key * 3, payload)
    run_mxnet(
        """
        import sys, json, mxnet as mx
        payloads = [bytes.fromhex(h) for h in json.loads(sys.argv[2])]
        rec = mx.recordio.MXIndexedRecordIO(sys.argv[1] + '/mx.idx', sys.argv[1] + '/mx.rec', 'w')
        for key, payload in enumerate(payloads):
            rec.write_idx(key * 3, payload)
        rec.close()
        print(json.dumps(True))
        """,
        tmp_path,
        __import__("json").dumps([p.hex() for p in PAYLOADS]),
    )
    assert (tmp_path / "roost.rec").read_bytes() == (tmp_path / "mx.rec").read_bytes()
    assert (tmp_path / "roost.idx").read_text() == (tmp_path / "mx.idx").read_text()
    with RecordReader(tmp_path / "mx.rec") as reader:
        assert [reader.read_key(k * 3) for k in range(len(PAYLOADS))] == PAYLOADS


def test_mxnet_reads_roost_records_and_labels(tmp_path, run_mxnet):
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 256, (20 + i, 30 - i, 3), dtype=np.uint8) for i in range(6)]
    with RecordWriter(tmp_path / "x.rec", tmp_path / "x.idx") as writer:
        for i, image in enumerate(images):
            label = float(i % 3) if i < 3 else [float(i), 0.5, 7.0]
            writer.write_idx(
                10 + i, pack_img(IRHeader(0, label, 10 + i, 0), image, quality=9, img_fmt=".png")
            )
    seen = run_mxnet(
        """
        import sys, json, numpy as np, mxnet as mx
        rec = mx.recordio.MXIndexedRecordIO(sys.argv[1] + '/x.idx', sys.argv[1] + '/x.rec', 'r')
        out = []
        for key in rec.keys:
            header, img = mx.recordio.unpack_img(rec.read_idx(key))
            label = header.label.tolist() if header.flag else header.label
            out.append([key, header.flag, label, header.id, list(img.shape), int(img.astype(np.int64).sum())])
        print(json.dumps(out))
        """,
        tmp_path,
    )
    expected = []
    with RecordReader(tmp_path / "x.rec") as reader:
        for key in reader.keys:
            header, img = unpack_img(reader.read_key(key))
            label = header.label.tolist() if header.flag else header.label
            expected.append(
                [key, header.flag, label, header.id, list(img.shape), int(img.astype(np.int64).sum())]
            )
    assert seen == expected


def test_image_record_iter_reads_roost_images(tmp_path, run_mxnet):
    rng = np.random.default_rng(1)
    images = [rng.integers(0, 256, (16, 16, 3), dtype=np.uint8) for _ in range(4)]
    with RecordWriter(tmp_path / "x.rec", tmp_path / "x.idx") as writer:
        for i, image in enumerate(images):
            writer.write_idx(i, pack_img(IRHeader(0, float(i), i, 0), image, img_fmt=".png"))
    batch = run_mxnet(
        """
        import sys, json, mxnet as mx
        it = mx.io.ImageRecordIter(path_imgrec=sys.argv[1] + '/x.rec', path_imgidx=sys.argv[1] + '/x.idx',
                                   data_shape=(3, 16, 16), batch_size=4, shuffle=False)
        b = next(iter(it))
        print(json.dumps([b.data[0].asnumpy().tolist(), b.label[0].asnumpy().tolist()]))
        """,
        tmp_path,
    )
    data, labels = np.array(batch[0]), batch[1]
    assert labels == [0.0, 1.0, 2.0, 3.0]
    # ImageRecordIter yields RGB CHW floats of the raw pixels; roost stored BGR.
    assert np.array_equal(
        data, np.stack([img[:, :, ::-1].transpose(2, 0, 1) for img in images]).astype(float)
    )


def test_roost_reads_mxnet_image_records(tmp_path, run_mxnet):
    run_mxnet(
        """
        import sys, json, numpy as np, mxnet as mx
        rec = mx.recordio.MXIndexedRecordIO(sys.argv[1] + '/m.idx', sys.argv[1] + '/m.rec', 'w')
        rng = np.random.RandomState(3)
        for i in range(5):
            img = rng.randint(0, 256, (12, 9 + i, 3)).astype(np.uint8)
            label = float(i) if i % 2 else [1.0, 2.0, float(i)]
            rec.write_idx(i, mx.recordio.pack_img(mx.recordio.IRHeader(0, label, i, 0), img, img_fmt='.png'))
            np.save(sys.argv[1] + '/img%d.npy' % i, img)
        rec.close()
        print(json.dumps(True))
        """,
        tmp_path,
    )
    with RecordReader(tmp_path / "m.rec") as reader:
        for i in range(5):
            header, img = unpack_img(reader.read_key(i))
            assert header.id == i
            assert np.array_equal(img, np.load(tmp_path / f"img{i}.npy"))
            if i % 2:
                assert header.flag == 0 and header.label == float(i)
            else:
                assert header.flag == 3 and header.label.tolist() == [1.0, 2.0, float(i)]
