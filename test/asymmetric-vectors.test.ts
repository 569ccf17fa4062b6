// Known-answer tests for the public-key and HMAC engines (src/crypto/{rsa,ec,sm2,hmac}.ts) against published
// vectors: RFC 4231 (HMAC-SHA-2), NIST CAVP SigGen15 (RSASSA-PKCS1-v1_5, deterministic), PKCS #1 v2.1 oaep-vect
// (RSAES-OAEP-SHA-1), RFC 6979 A.2.5/A.2.6 (ECDSA P-256/P-384 verification), NIST CAVP KAS (ECDH P-256) and
// GM/T 0003.5-2012 Annex A (SM2 Z, e, signature and encryption on the recommended curve). HMAC-SM3 has no
// vector here: it is compared with the openssl command.
import assert from 'node:assert/strict';
import { createHash, createPrivateKey, createPublicKey } from 'node:crypto';
import { describe, test } from 'node:test';
import { ecdhDeriveSharedSecret, ecdsaVerify, ecdsaVerifyDigest, type EcdsaHash } from '../src/crypto/ec.js';
import { hmacSha256, hmacSha384, hmacSha512, hmacSm3, type MacEngine } from '../src/crypto/hmac.js';
import { rsaOaepDecrypt, rsaSign, rsaSignDigest, rsaVerify, rsaVerifyDigest, type RsaSignatureHash } from '../src/crypto/rsa.js';
import {
  SM2_DEFAULT_ID,
  sm2Decrypt,
  sm2DeriveSharedSecret,
  sm2MessageDigest,
  sm2Sign,
  sm2SignDigest,
  sm2Verify,
  sm2VerifyDigest,
  sm2Z,
} from '../src/crypto/sm2.js';
import {
  derSignature,
  ecKeyFromParts,
  hasOpenssl,
  hex,
  openssl,
  rsaKeyFromParts,
  sm2CiphertextDer,
  sm2Pkcs8,
  sm2Spki,
} from './helpers/asym.js';

describe('HMAC: RFC 4231 test cases 1-7', () => {
  const longKey = Buffer.alloc(131, 0xaa);
  const cases: { name: string; key: Buffer; data: Buffer; sha256: string; sha384: string; sha512: string; truncate?: number }[] = [
    {
      name: 'case 1',
      key: Buffer.alloc(20, 0x0b),
      data: Buffer.from('Hi There'),
      sha256: 'b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7',
      sha384: 'afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59cfaea9ea9076ede7f4af152e8b2fa9cb6',
      sha512:
        '87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cdedaa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854',
    },
    {
      name: 'case 2 (key shorter than the hash)',
      key: Buffer.from('Jefe'),
      data: Buffer.from('what do ya want for nothing?'),
      sha256: '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
      sha384: 'af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e8e2240ca5e69e2c78b3239ecfab21649',
      sha512:
        '164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737',
    },
    {
      name: 'case 3',
      key: Buffer.alloc(20, 0xaa),
      data: Buffer.alloc(50, 0xdd),
      sha256: '773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe',
      sha384: '88062608d3e6ad8a0aa2ace014c8a86f0aa635d947ac9febe83ef4e55966144b2a5ab39dc13814b94e3ab6e101a34f27',
      sha512:
        'fa73b0089d56a284efb0f0756c890be9b1b5dbdd8ee81a3655f83e33b2279d39bf3e848279a722c806b485a47e67c807b946a337bee8942674278859e13292fb',
    },
    {
      name: 'case 4',
      key: hex('0102030405060708090a0b0c0d0e0f10111213141516171819'),
      data: Buffer.alloc(50, 0xcd),
      sha256: '82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b',
      sha384: '3e8a69b7783c25851933ab6290af6ca77a9981480850009cc5577c6e1f573b4e6801dd23c4a7d679ccf8a386c674cffb',
      sha512:
        'b0ba465637458c6990e5a8c5f61d4af7e576d97ff94b872de76f8050361ee3dba91ca5c11aa25eb4d679275cc5788063a5f19741120c4f2de2adebeb10a298dd',
    },
    {
      name: 'case 5 (truncated to 128 bits)',
      key: Buffer.alloc(20, 0x0c),
      data: Buffer.from('Test With Truncation'),
      sha256: 'a3b6167473100ee06e0c796c2955552b',
      sha384: '3abf34c3503b2a23a46efc619baef897',
      sha512: '415fad6271580a531d4179bc891d87a6',
      truncate: 16,
    },
    {
      name: 'case 6 (key longer than the block)',
      key: longKey,
      data: Buffer.from('Test Using Larger Than Block-Size Key - Hash Key First'),
      sha256: '60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54',
      sha384: '4ece084485813e9088d2c63a041bc5b44f9ef1012a2b588f3cd11f05033ac4c60c2ef6ab4030fe8296248df163f44952',
      sha512:
        '80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f3526b56d037e05f2598bd0fd2215d6a1e5295e64f73f63f0aec8b915a985d786598',
    },
    {
      name: 'case 7 (key and data longer than the block)',
      key: longKey,
      data: Buffer.from(
        'This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.',
      ),
      sha256: '9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2',
      sha384: '6617178e941f020d351e2f254e8fd32c602420feb0b8fb9adccebb82461e99c5a678cc31e799176d3860e6110c46523e',
      sha512:
        'e37b6a775dc87dbaa4dfa9f96e5e3ffddebd71f8867289865df5a32d20cdc944b6022cac3c4982b10d5eeb55c3e4de15134676fb6de0446065c97440fa8c6a58',
    },
  ];
  const engines: [keyof (typeof cases)[number] & ('sha256' | 'sha384' | 'sha512'), MacEngine][] = [
    ['sha256', hmacSha256],
    ['sha384', hmacSha384],
    ['sha512', hmacSha512],
  ];
  for (const c of cases) {
    for (const [hash, engine] of engines) {
      test(`${c.name} HMAC-${hash.toUpperCase()}`, () => {
        const mac = engine.mac(c.key, c.data);
        assert.equal(mac.length, engine.macBytes);
        if (c.truncate !== undefined) {
          assert.equal(mac.subarray(0, c.truncate).toString('hex'), c[hash]);
          assert.equal(engine.verify(c.key, c.data, mac.subarray(0, c.truncate)), false, 'a truncated MAC is not accepted');
        } else {
          assert.equal(mac.toString('hex'), c[hash]);
          assert.equal(engine.verify(c.key, c.data, hex(c[hash])), true);
        }
        assert.equal(engine.verify(c.key, Buffer.concat([c.data, Buffer.from([0])]), mac), false);
      });
    }
  }

  test('HMAC-SM3 equals the openssl command for RFC 4231 inputs and a 32-byte key', { skip: !hasOpenssl && 'no openssl' }, () => {
    for (const { key, data } of [...cases, { key: hex('00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff'), data: Buffer.from('abc') }]) {
      const { out } = openssl(
        ['mac', '-digest', 'SM3', '-macopt', `hexkey:${key.toString('hex')}`, '-in', '{in:data}', '-binary', '-out', '{out}', 'HMAC'],
        { data },
      );
      assert.equal(hmacSm3.mac(key, data).toString('hex'), out.toString('hex'));
      assert.equal(hmacSm3.verify(key, data, out), true);
    }
  });
});

describe('RSASSA-PKCS1-v1_5: NIST CAVP SigGen15 (FIPS 186-3), 2048-bit key', () => {
  const key = rsaKeyFromParts({
    n:
      'cea80475324c1dc8347827818da58bac069d3419c614a6ea1ac6a3b510dcd72c' +
      'c516954905e9fef908d45e13006adf27d467a7d83c111d1a5df15ef293771aef' +
      'b920032a5bb989f8e4f5e1b05093d3f130f984c07a772a3683f4dc6fb28a9681' +
      '5b32123ccdd13954f19d5b8b24a103e771a34c328755c65ed64e1924ffd04d30' +
      'b2142cc262f6e0048fef6dbc652f21479ea1c4b1d66d28f4d46ef7185e390cbf' +
      'a2e02380582f3188bb94ebbf05d31487a09aff01fcbb4cd4bfd1f0a833b38c11' +
      '813c84360bb53c7d4481031c40bad8713bb6b835cb08098ed15ba31ee4ba728a' +
      '8c8e10f7294e1b4163b7aee57277bfd881a6f9d43e02c6925aa3a043fb7fb78d',
    e: '260445',
    d:
      '0997634c477c1a039d44c810b2aaa3c7862b0b88d3708272e1e15f66fc938970' +
      '9f8a11f3ea6a5af7effa2d01c189c50f0d5bcbe3fa272e56cfc4a4e1d388a9dc' +
      'd65df8628902556c8b6bb6a641709b5a35dd2622c73d4640bfa1359d0e76e1f2' +
      '19f8e33eb9bd0b59ec198eb2fccaae0346bd8b401e12e3c67cb629569c185a2e' +
      '0f35a2f741644c1cca5ebb139d77a89a2953fc5e30048c0e619f07c8d21d1e56' +
      'b8af07193d0fdf3f49cd49f2ef3138b5138862f1470bd2d16e34a2b9e7777a6c' +
      '8c8d4cb94b4e8b5d616cd5393753e7b0f31cc7da559ba8e98d888914e334773b' +
      'af498ad88d9631eb5fe32e53a4145bf0ba548bf2b0a50c63f67b14e398a34b0d',
    p:
      'F364E16EF12017EC95B192308C01E087CEE619AB50A5D537CC01841DC92B30BC' +
      'EF0D9F2C6BBD5DC10BDF5B9F6C354A4F9F210520CAA72B4F5C36B8D33F10324C' +
      '55956141891E45B84B49F59EA5BFAC6FFA38900ACA5099AFCD02F6A8257C41CE' +
      '5BB2E4153832B5C22F91EB389FA2035C3CF9B3374531C483CB30CEB007259B1D',
    q:
      'D95C0995FABDFCBCCFE63E0F3262F806869AB571E1793E97234CBB9BD4B6872A' +
      '7695389955CF6CE7245345A5DF8021F7D9519563AFBC2667F5311FAD093DE2C0' +
      '2CD069109B630D68E3BF767F8A788A6ADD7AB199F2D8F6A40B7C1910D9DAB52A' +
      'C80D0D333AACAB321A9309DC884DDD4DB637A0C1115AE3C08EFA683F99EB7331',
  });
  const vectors: { hash: RsaSignatureHash; msg: string; s: string }[] = [
    {
      hash: 'sha256',
      msg:
        '0c8491fc348d341fe85c46a56115f26035c59e6a2be765c44e2ec83d407ea096' +
        'd13b57e3d0c758342246c47510a56793e5daeae1b96d4ab988378966876aa341' +
        'b7d1c31bba59b7dbe6d1a16898eef0caca928f8ce84d5c64e025dc1679922d95' +
        'e5cd3c6b994a385c5c8346469ef8764c0c74f5336191850c7f7e2b14be0027d8',
      s:
        'cacc8d9f5ecd34c143488461135c4951676145c6e472b92f12f758046f172142' +
        'fa388f285f3fff068242028829047e248059ed4fd39d2c5ade469dc7c39345e5' +
        '114950d2031cc7465fe712c4041d05c756d3f2d88a46ceb99f2e24a52e958a03' +
        'cd2519a9b137e62d5ca2b353f7b047b625c3602313fdb53c8db23d83951a599d' +
        'b328fedc4ae06da89ce7f56259b5c8222f7bd3d9740478fd28e5810db78aee86' +
        '23fdd39f603f8ddf98081d7873980c4eb0e22a9cd408f7c4134c12d2049a2d12' +
        '0f4b62e6b382b997fc375ef7ac955fcf80b045c3d6385ff422dad350c6887053' +
        '9068a162a2edbb93ceefed9677939b90bd3dfa0dc053460b4e2332efa692179a',
    },
    {
      hash: 'sha256',
      msg:
        'c43011f3ee88c9c9adcac8bf37221afa31769d347dec705e53aca98993e74606' +
        '591867ccd289ba1b4f19365f983e0c578346da76c5e2228a07e4fc9b3d48071633' +
        '71a52b68b66873201dc7d6b56616ac2e4cb522120787df7f15a5e8763a54c179c6' +
        '35d65816bc19485de3eb35a52040591094fe0e6485a7e0c60e38e7c61551',
      s:
        'aa3a4e12eb87596c711c9a22bcabcb9dadffcabcecbd16228889e9bb457d5d22' +
        '571a72f034be4783384f43ce6fffc60534b8331cdd5d7c77f49180bfd194b5fd43' +
        'a508c66d786c558876735894e6a9300952de792f747045e74d87fd50980230707a' +
        '34a4df013ce050bbff0d6f570885c9c7bf8dc499132caee071b41d81ff91b8ce21' +
        'aa2f282cbf52389f239afe1490890be21f9d808b3d70b97efd59c0b60e466088bb' +
        '42714f212bc90db7e942ebcee60e7b107fff44fb3564ff07d6d02850215fd357d8' +
        '97c4d32bef8661689f2d84ff897637fb6d5568a7270e783426b74b7037493e5155' +
        'fd7cb3ddddfd36bd8a9c877d71d2a966057c08263d2939c84987',
    },
    {
      hash: 'sha384',
      msg:
        '6cd59fdd3efd893d091afdc3155d354f10d6d88167427a2cf7246207e51791a6' +
        'ca6200a914cd2834a9b3c79fcd59e26e457e0683bc33d49267edbdd6e5d90902' +
        '696f1e7b1a4affc4ba371339868c28015ebbb73e262669866c35db974ba69e46' +
        '8f2583b9191d15d686cd66fb0b9e0ff0a3b4721a6dc342f14f2446b4e028595b',
      s:
        '3974900bec3fcb081f0e5a299adf30d087aabaa633911410e87a4979bbe3fa80' +
        'c3abcf221686399a49bc2f1e5ac40c35df1700e4b9cb7c805a896646573f4a57' +
        '0a9704d2a2e6baee4b43d916906884ad3cf283529ea265e8fcb5cc1bdf7b7dee' +
        '85941e4b4fb25c1fc7b951fb129ab393cb069be271c1d954da3c43674309f1d2' +
        '12826fabb8e812de2d53d12597de040d32cb28c9f813159cb18c1b51f7a874cb' +
        'f229cc222caeb98e35ec5e4bf5c5e22cc8528631f15117e8c2be6eac91f4070e' +
        'ecdd07ecc6db6c46eaa65f472f2006988efef0b51c538c6e04d7519c8e3da4b1' +
        '72b1e2761089ed3ad1197992ef37c168dc881c8b5f8bbfee919f7c7afd25b8fc',
    },
    {
      hash: 'sha512',
      msg:
        'a7c309d44a57188bbd7b726b98b98ce12582228e1415864870a23961d2afb82c' +
        'd5bc98bec922d5f2ac4168b056da176ef3ba91f6b699ba6acc4144868ff37f26' +
        'fd06720868d12ad26ecb52572cf10416af68df03ab645a8b704857d2190ffc3f' +
        '07eabe3a8e2abe34ed6159e884c4fae141d4333d5c3e0db044ff9cccd9cbd67f',
      s:
        '148af61ed5ea8a87a08b3f403929bf8031db4fd3999b64409ba489f97a3ee520' +
        '8ea4202d2ec18734f615003a51f77441085be6ac0f11810ffa2dad58f0e186d5' +
        '520ac2b8a5d3966e8d2abb8074e13b50a4e7de83be10a66fdc7ca18118c5774f' +
        '781212de9efebc6376fcdddc65a3b1b8f1ab31492fe478259ce719b3db587498' +
        'd879a01dec96e8eabeb07ff7073f3f3eb446084955ca26329a791315a2c259d2' +
        '25e26b2154b2047b21faba68115bfd962e5e24ec52d7c5d231e3044cbcd8c880' +
        '4855703cbaa622b15b6ef78c7421a367166f1b02576c87360593da75b7189efa' +
        'fd1082bd59f6857f1701f646c24d70c95273c49d5b11e6afe258821b55c1680c',
    },
  ];
  for (const [i, v] of vectors.entries()) {
    test(`vector ${i + 1} (${v.hash}): RAW and DIGEST signing reproduce S exactly; S verifies`, () => {
      const msg = hex(v.msg);
      const digest = createHash(v.hash).update(msg).digest();
      assert.equal(rsaSign('pkcs1', v.hash, key.privateKey, msg).toString('hex'), v.s);
      assert.equal(rsaSignDigest('pkcs1', v.hash, key.privateKey, digest).toString('hex'), v.s);
      assert.equal(rsaVerify('pkcs1', v.hash, key.publicKey, msg, hex(v.s)), true);
      assert.equal(rsaVerifyDigest('pkcs1', v.hash, key.publicKey, digest, hex(v.s)), true);
      const bad = hex(v.s);
      bad[100]! ^= 0x01;
      assert.equal(rsaVerify('pkcs1', v.hash, key.publicKey, msg, bad), false);
      assert.equal(rsaVerify('pss', v.hash, key.publicKey, msg, hex(v.s)), false, 'not a PSS signature');
    });
  }
});

describe('RSAES-OAEP-SHA-1: PKCS #1 v2.1 OAEP test vectors, 1024-bit key, examples 1.1 and 1.2', () => {
  const privateKey = hex(
    '30820276020100300d06092a864886f70d0101010500048202603082025c0201' +
      '0002818100a8b3b284af8eb50b387034a860f146c4919f318763cd6c5598c8ae' +
      '4811a1e0abc4c7e0b082d693a5e7fced675cf4668512772c0cbc64a742c6c630' +
      'f533c8cc72f62ae833c40bf25842e984bb78bdbf97c0107d55bdb662f5c4e0fa' +
      'b9845cb5148ef7392dd3aaff93ae1e6b667bb3d4247616d4f5ba10d4cfd226de' +
      '88d39f16fb020301000102818053339cfdb79fc8466a655c7316aca85c55fd8f' +
      '6dd898fdaf119517ef4f52e8fd8e258df93fee180fa0e4ab29693cd83b152a55' +
      '3d4ac4d1812b8b9fa5af0e7f55fe7304df41570926f3311f15c4d65a732c4831' +
      '16ee3d3d2d0af3549ad9bf7cbfb78ad884f84d5beb04724dc7369b31def37d0c' +
      'f539e9cfcdd3de653729ead5d1024100d32737e7267ffe1341b2d5c0d150a81b' +
      '586fb3132bed2f8d5262864a9cb9f30af38be448598d413a172efb802c21acf1' +
      'c11c520c2f26a471dcad212eac7ca39d024100cc8853d1d54da630fac004f471' +
      'f281c7b8982d8224a490edbeb33d3e3d5cc93c4765703d1dd791642f1f116a0d' +
      'd852be2419b2af72bfe9a030e860b0288b5d7702400e12bf1718e9cef5599ba1' +
      'c3882fe8046a90874eefce8f2ccc20e4f2741fb0a33a3848aec9c9305fbecbd2' +
      'd76819967d4671acc6431e4037968db37878e695c102410095297b0f95a2fa67' +
      'd00707d609dfd4fc05c89dafc2ef6d6ea55bec771ea333734d9251e79082ecda' +
      '866efef13c459e1a631386b7e354c899f5f112ca85d7158302404f456c502493' +
      'bdc0ed2ab756a3a6ed4d67352a697d4216e93212b127a63d5411ce6fa98d5dbe' +
      'fd73263e3728142743818166ed7dd63687dd2a8ca1d2f4fbd8e1',
  );
  const examples = [
    {
      message: '6628194e12073db03ba94cda9ef9532397d50dba79b987004afefe34',
      ciphertext:
        '354fe67b4a126d5d35fe36c777791a3f7ba13def484e2d3908aff722fad468fb' +
        '21696de95d0be911c2d3174f8afcc201035f7b6d8e69402de5451618c21a535f' +
        'a9d7bfc5b8dd9fc243f8cf927db31322d6e881eaa91a996170e657a05a266426' +
        'd98c88003f8477c1227094a0d9fa1e8c4024309ce1ecccb5210035d47ac72e8a',
    },
    {
      message: '750c4047f547e8e41411856523298ac9bae245efaf1397fbe56f9dd5',
      ciphertext:
        '640db1acc58e0568fe5407e5f9b701dff8c3c91e716c536fc7fcec6cb5b71c11' +
        '65988d4a279e1577d730fc7a29932e3f00c81515236d8d8e31017a7a09df4352' +
        'd904cdeb79aa583adcc31ea698a4c05283daba9089be5491f67c1a4ee48dc74b' +
        'bbe6643aef846679b4cb395a352d5ed115912df696ffe0702932946d71492b44',
    },
  ];
  for (const [i, ex] of examples.entries()) {
    test(`example 1.${i + 1} decrypts to the published message`, () => {
      assert.equal(rsaOaepDecrypt('sha1', privateKey, hex(ex.ciphertext)).toString('hex'), ex.message);
    });
  }
});

describe('ECDSA: RFC 6979 A.2.5 (P-256) and A.2.6 (P-384) published signatures verify', () => {
  const p256 = ecKeyFromParts(
    'P-256',
    'C9AFA9D845BA75166B5C215767B1D6934E50C3DB36E89B127B8A622B120F6721',
    '60FED4BA255A9D31C961EB74C6356D68C049B8923B61FA6CE669622E60F29FB6',
    '7903FE1008B8BC99A41AE9E95628BC64F2F1B20C2D7E9F5177A3C294D4462299',
  );
  const p384 = ecKeyFromParts(
    'P-384',
    '6B9D3DAD2E1B8C1C05B19875B6659F4DE23C3B667BF297BA9AA47740787137D896D5724E4C70A825F872C9EA60D2EDF5',
    'EC3A4E415B4E19A4568618029F427FA5DA9A8BC4AE92E02E06AAE5286B300C64DEF8F0EA9055866064A254515480BC13',
    '8015D9B72D7D57244EA8EF9AC0C621896708A59367F9DFB9F54CA84B3F1C9DB1288B231C3AE0D4FE7344FD2533264720',
  );
  const vectors: { curve: string; key: { publicKey: Buffer }; hash: EcdsaHash; msg: string; r: string; s: string }[] = [
    {
      curve: 'P-256', key: p256, hash: 'sha256', msg: 'sample',
      r: 'EFD48B2AACB6A8FD1140DD9CD45E81D69D2C877B56AAF991C34D0EA84EAF3716',
      s: 'F7CB1C942D657C41D436C7A1B6E29F65F3E900DBB9AFF4064DC4AB2F843ACDA8',
    },
    {
      curve: 'P-256', key: p256, hash: 'sha256', msg: 'test',
      r: 'F1ABB023518351CD71D881567B1EA663ED3EFCF6C5132B354F28D3B0B7D38367',
      s: '019F4113742A2B14BD25926B49C649155F267E60D3814B4C0CC84250E46F0083',
    },
    {
      curve: 'P-256', key: p256, hash: 'sha384', msg: 'sample',
      r: '0EAFEA039B20E9B42309FB1D89E213057CBF973DC0CFC8F129EDDDC800EF7719',
      s: '4861F0491E6998B9455193E34E7B0D284DDD7149A74B95B9261F13ABDE940954',
    },
    {
      curve: 'P-256', key: p256, hash: 'sha512', msg: 'sample',
      r: '8496A60B5E9B47C825488827E0495B0E3FA109EC4568FD3F8D1097678EB97F00',
      s: '2362AB1ADBE2B8ADF9CB9EDAB740EA6049C028114F2460F96554F61FAE3302FE',
    },
    {
      curve: 'P-384', key: p384, hash: 'sha256', msg: 'sample',
      r: '21B13D1E013C7FA1392D03C5F99AF8B30C570C6F98D4EA8E354B63A21D3DAA33BDE1E888E63355D92FA2B3C36D8FB2CD',
      s: 'F3AA443FB107745BF4BD77CB3891674632068A10CA67E3D45DB2266FA7D1FEEBEFDC63ECCD1AC42EC0CB8668A4FA0AB0',
    },
    {
      curve: 'P-384', key: p384, hash: 'sha384', msg: 'sample',
      r: '94EDBB92A5ECB8AAD4736E56C691916B3F88140666CE9FA73D64C4EA95AD133C81A648152E44ACF96E36DD1E80FABE46',
      s: '99EF4AEB15F178CEA1FE40DB2603138F130E740A19624526203B6351D0A3A94FA329C145786E679E7B82C71A38628AC8',
    },
    {
      curve: 'P-384', key: p384, hash: 'sha384', msg: 'test',
      r: '8203B63D3C853E8D77227FB377BCF7B7B772E97892A80F36AB775D509D7A5FEB0542A7F0812998DA8F1DD3CA3CF023DB',
      s: 'DDD0760448D42D8A43AF45AF836FCE4DE8BE06B485E9B61B827C2F13173923E06A739F040649A667BF3B828246BAA5A5',
    },
    {
      curve: 'P-384', key: p384, hash: 'sha512', msg: 'sample',
      r: 'ED0959D5880AB2D869AE7F6C2915C6D60F96507F9CB3E047C0046861DA4A799CFE30F35CC900056D7C99CD7882433709',
      s: '512C8CCEEE3890A84058CE1E22DBC2198F42323CE8ACA9135329F03C068E5112DC7CC3EF3446DEFCEB01A45C2667FDD5',
    },
  ];
  for (const v of vectors) {
    test(`${v.curve} ${v.hash} "${v.msg}" as RAW and as DIGEST; altered message or s is rejected`, () => {
      const sig = derSignature(v.r, v.s);
      const msg = Buffer.from(v.msg);
      const digest = createHash(v.hash).update(msg).digest();
      assert.equal(ecdsaVerify(v.hash, v.key.publicKey, msg, sig), true);
      assert.equal(ecdsaVerifyDigest(v.hash, v.key.publicKey, digest, sig), true);
      assert.equal(ecdsaVerify(v.hash, v.key.publicKey, Buffer.from(`${v.msg}!`), sig), false);
      const sBad = `${v.s.slice(0, -1)}${v.s.endsWith('0') ? '1' : '0'}`;
      assert.equal(ecdsaVerify(v.hash, v.key.publicKey, msg, derSignature(v.r, sBad)), false);
    });
  }
});

test('ECDH P-256: NIST CAVP KAS vector gives the published shared secret', () => {
  const privateKey = createPrivateKey({
    key: {
      kty: 'EC',
      crv: 'P-256',
      d: 'qq_LEzeJpR00KM5DQvL2MNtJcbi0KcGVcoPIHNnwm2A',
      x: 'FNwJHA-FwnSx5tKXFV_iLN408gbKUHRV06WnQlzTdN4',
      y: 'is9pWAaneK4RdxmdLfsq5IwizDmUS2w8OGS99sKm3ek',
    },
    format: 'jwk',
  }).export({ format: 'der', type: 'pkcs8' });
  const peer = hex(
    '3059301306072a8648ce3d020106082a8648ce3d030107034200045ce7b86e3b' +
      '32660403e63712ef0998deae1027faec3c1be9f76f934dfeb58e98f4cf075b39' +
      '405dd1f1adeb090107edcfb2b4963739d87679e3056cb0557d0adf',
  );
  assert.equal(
    ecdhDeriveSharedSecret(privateKey, peer).toString('hex'),
    '35669cd5c244ba6c1ea89b8802c3d1db815cd769979072e6556eb98548c65f7d',
  );
});

describe('SM2: GM/T 0003.5-2012 Annex A examples on the recommended curve', () => {
  const d = hex('3945208F7B2144B13F36E38AC6D39F95889393692860B51A42FB81EF4DF7C5B8');
  const point = hex(
    '04' +
      '09F9DF311E5421A150DD7D161E4BC5C672179FAD1833FC076BB08FF356F35020' +
      'CCEA490CE26775A52DC6EA718CC1AA600AED05FBF35E084A6632F6072DA9AD13',
  );
  const publicKey = sm2Spki(point);
  const privateKey = sm2Pkcs8(d, point);
  const message = Buffer.from('message digest');
  const signature = derSignature(
    'F5A03B0648D2C4630EEAC513E1BB81A15944DA3827D5B74143AC7EACEEE720B3',
    'B1B6AA29DF212FD8763182BC0D421CA1BB9038FD1F7F42D4840B69C485BBC1AA',
  );

  test('the test key is consistent: OpenSSL derives the published public key from d alone', () => {
    const spki = createPublicKey(createPrivateKey({ key: sm2Pkcs8(d), format: 'der', type: 'pkcs8' })).export({
      format: 'der',
      type: 'spki',
    });
    assert.deepEqual(spki, publicKey);
  });

  test('Z_A with ID 1234567812345678 and e = SM3(Z_A || M) match the published values', () => {
    assert.equal(SM2_DEFAULT_ID, '1234567812345678');
    assert.equal(sm2Z(publicKey).toString('hex').toUpperCase(), 'B2E14C5C79C6DF5B85F4FE7ED8DB7A262B9DA7E07CCB0EA9F4747B8CCDA8A4F3');
    assert.equal(
      sm2MessageDigest(publicKey, message).toString('hex').toUpperCase(),
      'F0B43E94BA45ACCAACE692ED534382EB17E6AB5A19CE7B31F4486FDFC0D28640',
    );
  });

  test('the published (r, s) verifies as RAW (default ID) and as DIGEST (e); altered inputs do not', () => {
    const e = sm2MessageDigest(publicKey, message);
    assert.equal(sm2Verify(publicKey, message, signature), true);
    assert.equal(sm2VerifyDigest(publicKey, e, signature), true);
    assert.equal(sm2Verify(publicKey, Buffer.from('message digesT'), signature), false);
    assert.equal(sm2Verify(publicKey, message, signature, 'ALICE123@YAHOO.COM'), false, 'another ID gives another Z');
    assert.equal(sm2Verify(publicKey, message, signature, ''), false, 'node-style empty ID is not the default');
    const e2 = Buffer.from(e);
    e2[0]! ^= 1;
    assert.equal(sm2VerifyDigest(publicKey, e2, signature), false);
  });

  test('signatures made with the published private key verify (RAW and DIGEST)', () => {
    const raw = sm2Sign(privateKey, message);
    assert.equal(sm2Verify(publicKey, message, raw), true);
    assert.equal(sm2VerifyDigest(publicKey, sm2MessageDigest(publicKey, message), raw), true);
    const viaDigest = sm2SignDigest(privateKey, sm2MessageDigest(publicKey, message));
    assert.equal(sm2Verify(publicKey, message, viaDigest), true);
  });

  test('ECDH with the generator G as the peer gives x(P): d·G is the published public key', () => {
    const generator = sm2Spki(
      hex(
        '04' +
          '32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7' +
          'BC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0',
      ),
    );
    assert.deepEqual(sm2DeriveSharedSecret(privateKey, generator), point.subarray(1, 33));
  });

  test('the published ciphertext of "encryption standard" decrypts (GM/T 0009 ASN.1 form)', () => {
    const ciphertext = sm2CiphertextDer(
      hex('04EBFC718E8D1798620432268E77FEB6415E2EDE0E073C0F4F640ECD2E149A73'),
      hex('E858F9D81E5430A57B36DAAB8F950A3C64E6EE6A63094D99283AFF767E124DF0'),
      hex('59983C18F809E262923C53AEC295D30383B54E39D609D160AFCB1908D0BD8766'),
      hex('21886CA989CA9C7D58087307CA93092D651EFA'),
    );
    assert.equal(
      ciphertext.toString('hex').toUpperCase(),
      '307C022004EBFC718E8D1798620432268E77FEB6415E2EDE0E073C0F4F640ECD2E149A73022100E858F9D81E5430A57B36DAAB8F950A3C' +
        '64E6EE6A63094D99283AFF767E124DF0042059983C18F809E262923C53AEC295D30383B54E39D609D160AFCB1908D0BD8766041321886C' +
        'A989CA9C7D58087307CA93092D651EFA',
    );
    assert.equal(sm2Decrypt(privateKey, ciphertext).toString(), 'encryption standard');
  });
});
