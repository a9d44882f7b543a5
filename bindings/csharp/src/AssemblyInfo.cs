using System.Reflection;
using System.Runtime.CompilerServices;

[assembly: AssemblyTitle("Mixcon")]
[assembly: AssemblyDescription("MixCon hybrid Conba/attention language models: C# binding of libmixcon")]
// The tests check the enums against the native status names.
[assembly: InternalsVisibleTo("Mixcon.Tests")]
