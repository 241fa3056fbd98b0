using SSL4Eco.Inference.Arrays;
using SSL4Eco.Inference.Checkpoints;
using SSL4Eco.Inference.Tests.Oracle;

namespace SSL4Eco.Inference.Tests.Checkpoints;

/// <summary>
/// Checkpoints in the forms PyTorch ≥ 2 writes, which Debian's torch 1.13 cannot produce: storages pickled as
/// <c>torch.UntypedStorage</c> (byte counts) with the element type carried by <c>_rebuild_tensor_v3</c>'s dtype argument,
/// and the extra zip records (<c>byteorder</c>, <c>.data/serialization_id</c>, <c>.format_version</c>,
/// <c>.storage_alignment</c>). The pickle is written by Python's own pickler with those globals; values come from numpy.
/// </summary>
public class Torch2FormatTests
{
    private const string Writer = """
import io, pickle, zipfile, collections, types, numpy as np, torch, torch._utils
out, npdir = sys.argv[1], sys.argv[2]

def _rebuild_tensor_v3(storage, offset, size, stride, requires_grad, hooks, dtype, metadata=None):
    raise RuntimeError('never called: the file is only written')
_rebuild_tensor_v3.__module__ = 'torch._utils'
_rebuild_tensor_v3.__qualname__ = '_rebuild_tensor_v3'
torch._utils._rebuild_tensor_v3 = _rebuild_tensor_v3

class Storage:
    def __init__(self, key, data): self.key, self.data = key, data

class View:
    def __init__(self, storage, offset, size, stride, dtype, grad=False):
        self.storage, self.offset, self.size, self.stride, self.dtype, self.grad = storage, offset, size, stride, dtype, grad

class Pickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, Storage):
            return ('storage', torch.UntypedStorage, obj.key, 'cpu', len(obj.data))
        return None
    def reducer_override(self, obj):
        if isinstance(obj, View):
            return (_rebuild_tensor_v3, (obj.storage, obj.offset, torch.Size(obj.size), obj.stride, obj.grad, collections.OrderedDict(), obj.dtype))
        return NotImplemented

rng = np.random.default_rng(5)
f32 = rng.normal(size=(4, 6)).astype(np.float32)
f16 = rng.normal(size=(3, 5)).astype(np.float16)
i64 = np.arange(-3, 9, dtype=np.int64).reshape(3, 4)
s0, s1, s2 = Storage('0', f32.tobytes()), Storage('1', f16.tobytes()), Storage('2', i64.tobytes())
state = collections.OrderedDict()
state['conv.weight'] = View(s0, 0, (4, 6), (6, 1), torch.float32, True)
state['conv.weight_t'] = View(s0, 0, (6, 4), (1, 6), torch.float32)    # a transposed view of the same storage
state['row2'] = View(s0, 12, (6,), (1,), torch.float32)                  # an offset view
state['half'] = View(s1, 0, (3, 5), (5, 1), torch.float16)
state['steps'] = View(s2, 0, (3, 4), (4, 1), torch.int64)
buf = io.BytesIO(); Pickler(buf, protocol=2).dump({'state_dict': state, 'epoch': 7})
with zipfile.ZipFile(out, 'w', zipfile.ZIP_STORED) as z:
    z.writestr('archive/data.pkl', buf.getvalue())
    z.writestr('archive/byteorder', 'little')
    for s in (s0, s1, s2): z.writestr('archive/data/' + s.key, s.data)
    z.writestr('archive/version', '3\n')
    z.writestr('archive/.data/serialization_id', '1234567890123456789012345678901234567890')
    z.writestr('archive/.format_version', '1')
    z.writestr('archive/.storage_alignment', '64')
np.save(npdir + '/f32.npy', f32); np.save(npdir + '/f16.npy', f16.astype(np.float32)); np.save(npdir + '/i64.npy', i64.astype(np.float32))
""";

    [Fact]
    public void Untyped_storages_with_rebuild_tensor_v3_and_the_new_zip_records_load_like_torch_2()
    {
        using var dir = new TempDir();
        var path = dir.File("torch2.pt");
        PythonOracle.Run(Writer, path, dir.Path);
        using (var zip = System.IO.Compression.ZipFile.OpenRead(path))
        {
            using var pkl = new StreamReader(zip.GetEntry("archive/data.pkl")!.Open(), System.Text.Encoding.Latin1);
            var text = pkl.ReadToEnd();
            Assert.Contains("UntypedStorage", text);        // the forms under test are really in the file
            Assert.Contains("_rebuild_tensor_v3", text);
            Assert.DoesNotContain("FloatStorage", text);
        }
        using var doc = PyTorchCheckpoint.Load(path);
        Assert.Equal(CheckpointFileFormat.Zip, doc.Format);
        var root = Assert.IsType<PickleDict>(doc.Root);
        Assert.Equal(7L, root["epoch"]);
        var tensors = doc.FindTensors();
        var f32 = NpyFile.ReadSingle(dir.File("f32.npy")).Data;

        var w = tensors["state_dict.conv.weight"];
        Assert.Equal(CheckpointDType.Float32, w.DType);
        Assert.Equal([4L, 6L], w.Shape);
        Assert.True(w.RequiresGrad);
        Assert.Equal(f32, w.ToFloatArray());
        var t = tensors["state_dict.conv.weight_t"].ToFloatArray();
        for (int i = 0; i < 6; i++) for (int j = 0; j < 4; j++) Assert.Equal(f32[j * 6 + i], t[i * 4 + j]);
        Assert.Equal(f32.AsSpan(12, 6).ToArray(), tensors["state_dict.row2"].ToFloatArray());

        var half = tensors["state_dict.half"];
        Assert.Equal(CheckpointDType.Float16, half.DType);
        Assert.Equal(NpyFile.ReadSingle(dir.File("f16.npy")).Data, half.ToFloatArray());
        var steps = tensors["state_dict.steps"];
        Assert.Equal(CheckpointDType.Int64, steps.DType);
        Assert.Equal(NpyFile.ReadSingle(dir.File("i64.npy")).Data, steps.ToFloatArray());
    }

    [Fact]
    public void A_v3_view_beyond_its_untyped_storage_is_reported_as_corrupt()
    {
        using var dir = new TempDir();
        var path = dir.File("bad.pt");
        // The float32 storage holds 24 values; a 5 x 6 view needs 30.
        PythonOracle.Run(Writer.Replace("View(s0, 0, (4, 6), (6, 1), torch.float32, True)", "View(s0, 0, (5, 6), (6, 1), torch.float32, True)"), path, dir.Path);
        var e = Assert.Throws<CheckpointFormatException>(() => { using var doc = PyTorchCheckpoint.Load(path); doc.FindTensors(); });
        Assert.Contains("corrupt", e.Message, StringComparison.OrdinalIgnoreCase);
    }
}
