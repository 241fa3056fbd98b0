using SSL4Eco.Inference.Arrays;
using SSL4Eco.Inference.Checkpoints;

namespace SSL4Eco.Inference.Tests.Checkpoints;

public sealed class CheckpointLayoutsTests(CheckpointFixture fx) : IClassFixture<CheckpointFixture>
{
    private void AssertEncoderEquals(EncoderCheckpoint e, string dump)
    {
        var names = fx.Names(dump + "_names.json");
        var (flat, _) = NpyFile.ReadSingle(fx.File(dump + ".npy"));
        int at = 0;
        Assert.Equal(names.Length, e.Weights.Tensors.Count);
        foreach (var n in names)
        {
            var v = e.Weights[n].Values;
            Assert.True(flat.AsSpan(at, v.Length).SequenceEqual(v), $"tensor '{n}' differs from torch");
            at += v.Length;
        }
        Assert.Equal(flat.Length, at);
    }

    [Fact]
    public void Lightning_SeCo_checkpoint_maps_encoder_q_to_torchvision_names()
    {
        var e = CheckpointLayouts.ReadEncoder(fx.File("lightning.ckpt"));
        Assert.Equal(CheckpointLayout.LightningSeCo, e.Layout);
        Assert.Equal(9, e.InputChannels);
        AssertEncoderEquals(e, "lightning");
        Assert.Equal(99L, e.Epoch);
        Assert.Equal(123456L, e.GlobalStep);
        Assert.Equal("B9", e.HyperParameters["bands"]);
        Assert.Equal(9L, e.HyperParameters["n_channels"]);
        Assert.Equal("/data/ssl4eco", e.HyperParameters["data_dir"]); // argparse.Namespace attributes are flattened
        Assert.Equal(fx.Hashes["lightning.ckpt"], e.Sha256);
    }

    [Fact]
    public void Unknown_classes_in_a_lightning_checkpoint_become_generic_objects()
    {
        using var doc = PyTorchCheckpoint.Load(fx.File("lightning.ckpt"));
        var root = (PickleDict)doc.Root!;
        var hp = Assert.IsType<PickleObject>(root["hyper_parameters"]);
        Assert.Equal("pytorch_lightning.utilities.parsing.AttributeDict", hp.Type.FullName);
        var cb = Assert.IsType<PickleObject>(((PickleDict)root["callbacks"]!)["ModelCheckpoint"]);
        Assert.Equal(0.5, cb.Attributes()["best"]);
        var scalar = Assert.IsType<PickleObject>(((PickleDict)((PickleDict)root["loops"]!)["fit_loop"]!)["np_scalar"]);
        Assert.Equal("scalar", scalar.Name);
    }

    [Fact]
    public void TorchGeo_plain_state_dict_with_12_channels_ignores_fc()
    {
        var e = CheckpointLayouts.ReadEncoder(fx.File("torchgeo.pth"));
        Assert.Equal(CheckpointLayout.PlainStateDict, e.Layout);
        Assert.Equal(12, e.InputChannels);
        AssertEncoderEquals(e, "torchgeo");
        Assert.Empty(e.HyperParameters);
        Assert.Null(e.Epoch);
    }

    [Fact]
    public void MoCo_prefixed_legacy_checkpoint_in_a_model_wrapper()
    {
        var e = CheckpointLayouts.ReadEncoder(fx.File("moco_legacy.pth"));
        Assert.Equal(CheckpointLayout.MoCoEncoderQ, e.Layout);
        AssertEncoderEquals(e, "moco");
        Assert.Equal(3L, e.Epoch);
    }

    [Fact]
    public void Missing_unexpected_and_misshaped_keys_are_listed()
    {
        var e = Assert.Throws<CheckpointFormatException>(() => CheckpointLayouts.ReadEncoder(fx.File("broken.pth")));
        Assert.Contains("layer4.2.bn3.weight", e.Message);
        Assert.Contains("extra.weight", e.Message);
        Assert.Contains("layer2.0.conv2.weight", e.Message);
    }

    [Fact]
    public void A_dict_without_tensors_names_its_keys()
    {
        var e = Assert.Throws<CheckpointFormatException>(() => CheckpointLayouts.ReadEncoder(fx.File("generic_p2.pt")));
        Assert.Contains("no state dict", e.Message);
        Assert.Contains("tensors", e.Message);
    }
}
